package pause

// amd64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl). A syscall takes
// its number in rax and its arguments in rdi, rsi, rdx, r10, returns in rax (a
// negative errno on failure) and clobbers only rcx and r11.
const (
	amd64RtSigaction    = 13
	amd64RtSigprocmask  = 14
	amd64RtSigtimedwait = 128
	amd64ExitGroup      = 231
)

// amd64Code is the pause program for amd64; see the package doc for what it does.
// Each instruction is given in Intel syntax beside its encoding.
func amd64Code() []byte {
	return assemble([]insn{
		// A struct sigaction for SIGCHLD on the stack, built from its last field:
		// sa_mask = 0, sa_restorer = NULL, sa_flags = 0, sa_handler = SIG_IGN (1).
		{code: []byte{0x31, 0xc0}}, // xor eax, eax
		{code: []byte{0x50}},       // push rax          ; sa_mask
		{code: []byte{0x50}},       // push rax          ; sa_restorer
		{code: []byte{0x50}},       // push rax          ; sa_flags
		{code: []byte{0x6a, 0x01}}, // push 1            ; sa_handler = SIG_IGN
		// rt_sigaction(SIGCHLD, rsp, NULL, 8): children are reaped by the kernel.
		{code: []byte{0xb8, amd64RtSigaction, 0x00, 0x00, 0x00}},      // mov eax, 13
		{code: []byte{0xbf, 0x11, 0x00, 0x00, 0x00}},                  // mov edi, 17       ; SIGCHLD
		{code: []byte{0x48, 0x89, 0xe6}},                              // mov rsi, rsp      ; act
		{code: []byte{0x31, 0xd2}},                                    // xor edx, edx      ; oldact = NULL
		{code: []byte{0x41, 0xba, 0x08, 0x00, 0x00, 0x00}},            // mov r10d, 8       ; sizeof(sigset_t), kept for every call below
		{code: []byte{0x0f, 0x05}},                                    // syscall
		{code: []byte{0x48, 0x85, 0xc0}},                              // test rax, rax
		{code: []byte{0x78, 0x00}, target: "fail", branch: amd64Rel8}, // js fail
		// The signal set {SIGINT, SIGTERM} on the stack: bits 1 and 14 (signal - 1).
		{code: []byte{0x68, 0x02, 0x40, 0x00, 0x00}}, // push 0x4002
		// rt_sigprocmask(SIG_BLOCK, rsp, NULL, 8): blocked, they are queued for
		// rt_sigtimedwait rather than dropped by the kernel, as unhandled signals
		// to a PID 1 are.
		{code: []byte{0xb8, amd64RtSigprocmask, 0x00, 0x00, 0x00}},    // mov eax, 14
		{code: []byte{0x31, 0xff}},                                    // xor edi, edi      ; SIG_BLOCK
		{code: []byte{0x48, 0x89, 0xe6}},                              // mov rsi, rsp      ; set
		{code: []byte{0x31, 0xd2}},                                    // xor edx, edx      ; oldset = NULL
		{code: []byte{0x0f, 0x05}},                                    // syscall
		{code: []byte{0x48, 0x85, 0xc0}},                              // test rax, rax
		{code: []byte{0x78, 0x00}, target: "fail", branch: amd64Rel8}, // js fail
		// rt_sigtimedwait(rsp, NULL, NULL, 8): sleep until SIGINT or SIGTERM; an
		// error (EINTR, as after SIGSTOP and SIGCONT) waits again.
		{label: "wait", code: []byte{0xb8, amd64RtSigtimedwait, 0x00, 0x00, 0x00}}, // mov eax, 128
		{code: []byte{0x48, 0x89, 0xe7}},                                           // mov rdi, rsp      ; set
		{code: []byte{0x31, 0xf6}},                                                 // xor esi, esi      ; info = NULL
		{code: []byte{0x31, 0xd2}},                                                 // xor edx, edx      ; timeout = NULL: forever
		{code: []byte{0x0f, 0x05}},                                                 // syscall
		{code: []byte{0x48, 0x85, 0xc0}},                                           // test rax, rax
		{code: []byte{0x78, 0x00}, target: "wait", branch: amd64Rel8},              // js wait
		// exit_group(0): asked to stop, the container stops cleanly.
		{code: []byte{0x31, 0xff}},                             // xor edi, edi      ; status 0
		{code: []byte{0xb8, amd64ExitGroup, 0x00, 0x00, 0x00}}, // mov eax, 231
		{code: []byte{0x0f, 0x05}},                             // syscall
		// exit_group(1): the signals could not be set up.
		{label: "fail", code: []byte{0xbf, 0x01, 0x00, 0x00, 0x00}}, // mov edi, 1        ; status 1
		{code: []byte{0xb8, amd64ExitGroup, 0x00, 0x00, 0x00}},      // mov eax, 231
		{code: []byte{0x0f, 0x05}},                                  // syscall
	})
}

// amd64Rel8 completes a two-byte short jump: its displacement counts from the end of
// the instruction.
func amd64Rel8(code []byte, delta int) {
	rel := delta - len(code)
	if rel < -128 || rel > 127 {
		panic("pause: short jump out of range")
	}
	code[1] = byte(int8(rel))
}

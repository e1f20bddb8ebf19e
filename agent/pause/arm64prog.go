package pause

import "encoding/binary"

// arm64 system call numbers (include/uapi/asm-generic/unistd.h). A syscall (svc #0)
// takes its number in x8 and its arguments in x0-x3, returns in x0 (a negative errno
// on failure) and preserves every other register.
const (
	arm64RtSigaction    = 134
	arm64RtSigprocmask  = 135
	arm64RtSigtimedwait = 137
	arm64ExitGroup      = 94
)

// arm64Code is the pause program for arm64; see the package doc for what it does.
// Each instruction is given in assembly beside its encoding.
func arm64Code() []byte {
	return assemble([]insn{
		// A struct sigaction for SIGCHLD on the stack (kept 16-byte aligned):
		// sa_handler = SIG_IGN (1), sa_flags = 0, sa_restorer = NULL, sa_mask = 0.
		a64(0xd10083ff), // sub  sp, sp, #32
		movz(9, 1),      // mov  x9, #1                ; SIG_IGN
		a64(0xa9007fe9), // stp  x9, xzr, [sp]         ; sa_handler, sa_flags
		a64(0xa9017fff), // stp  xzr, xzr, [sp, #16]   ; sa_restorer, sa_mask
		// rt_sigaction(SIGCHLD, sp, NULL, 8): children are reaped by the kernel.
		movz(0, 17),               // mov  x0, #17     ; SIGCHLD
		a64(0x910003e1),           // mov  x1, sp      ; act
		movz(2, 0),                // mov  x2, #0      ; oldact = NULL
		movz(3, 8),                // mov  x3, #8      ; sizeof(sigset_t), kept for every call below
		movz(8, arm64RtSigaction), // mov  x8, #134
		a64(0xd4000001),           // svc  #0
		tbnzSign("fail"),          // tbnz x0, #63, fail ; negative: an error
		// The signal set {SIGINT, SIGTERM} over the first word: bits 1 and 14
		// (signal - 1).
		movz(9, 0x4002), // mov  x9, #0x4002
		a64(0xf90003e9), // str  x9, [sp]
		// rt_sigprocmask(SIG_BLOCK, sp, NULL, 8): blocked, they are queued for
		// rt_sigtimedwait rather than dropped by the kernel, as unhandled signals
		// to a PID 1 are.
		movz(0, 0),                  // mov  x0, #0    ; SIG_BLOCK
		a64(0x910003e1),             // mov  x1, sp    ; set
		movz(2, 0),                  // mov  x2, #0    ; oldset = NULL
		movz(8, arm64RtSigprocmask), // mov  x8, #135
		a64(0xd4000001),             // svc  #0
		tbnzSign("fail"),            // tbnz x0, #63, fail
		// rt_sigtimedwait(sp, NULL, NULL, 8): sleep until SIGINT or SIGTERM; an
		// error (EINTR, as after SIGSTOP and SIGCONT) waits again.
		label("wait", a64(0x910003e0)), // mov  x0, sp  ; set
		movz(1, 0),                     // mov  x1, #0  ; info = NULL
		movz(2, 0),                     // mov  x2, #0  ; timeout = NULL: forever
		movz(8, arm64RtSigtimedwait),   // mov  x8, #137
		a64(0xd4000001),                // svc  #0
		tbnzSign("wait"),               // tbnz x0, #63, wait
		// exit_group(0): asked to stop, the container stops cleanly.
		movz(0, 0),              // mov  x0, #0 ; status 0
		movz(8, arm64ExitGroup), // mov  x8, #94
		a64(0xd4000001),         // svc  #0
		// exit_group(1): the signals could not be set up.
		label("fail", movz(0, 1)), // mov  x0, #1 ; status 1
		movz(8, arm64ExitGroup),   // mov  x8, #94
		a64(0xd4000001),           // svc  #0
	})
}

// a64 is one instruction given by its encoding, a little-endian word.
func a64(word uint32) insn { return insn{code: binary.LittleEndian.AppendUint32(nil, word)} }

// label names in for branches.
func label(name string, in insn) insn {
	in.label = name
	return in
}

// movz is MOVZ xd, #imm (mov xd, #imm): 0xd2800000 with the 16-bit immediate in bits
// 5-20 and the register in bits 0-4.
func movz(rd, imm uint32) insn {
	if rd > 30 || imm > 0xffff {
		panic("pause: movz operand out of range")
	}
	return a64(0xd2800000 | imm<<5 | rd)
}

// tbnzSign is TBNZ x0, #63, target: a branch taken when x0 is negative. The bit
// number's top bit (b5) is bit 31, its low five bits (b40) bits 19-23, and the offset,
// in instructions from this one, a 14-bit field in bits 5-18.
func tbnzSign(target string) insn {
	in := a64(0xb7f80000)
	in.target = target
	in.branch = func(code []byte, delta int) {
		imm := delta / 4
		if delta%4 != 0 || imm < -(1<<13) || imm >= 1<<13 {
			panic("pause: branch out of range")
		}
		w := binary.LittleEndian.Uint32(code) | uint32(imm&0x3fff)<<5
		binary.LittleEndian.PutUint32(code, w)
	}
	return in
}

package pause

import (
	"encoding/binary"
	"fmt"
)

// The executable is one ELF header, two program headers and the code, and nothing
// else: no sections, no symbols, no libc. The kernel needs only the header and the
// PT_LOAD program header to run it.
const (
	elfHeaderSize     = 64 // Elf64_Ehdr
	programHeaderSize = 56 // Elf64_Phdr
	programHeaders    = 2  // PT_LOAD, PT_GNU_STACK
	codeOffset        = elfHeaderSize + programHeaders*programHeaderSize

	// baseAddress is where the file is mapped: the usual base of static executables,
	// well above vm.mmap_min_addr and aligned to 64 KiB, the largest arm64 page size.
	baseAddress = 0x400000
	loadAlign   = 0x10000

	// EntryAddress is the address of the code's first instruction.
	EntryAddress = baseAddress + codeOffset
)

// Values of the ELF header and program header fields used here (see elf(5)).
const (
	amd64Machine = 62  // EM_X86_64
	arm64Machine = 183 // EM_AARCH64

	etExec     = 2          // e_type ET_EXEC: a fixed-address executable
	ptLoad     = 1          // p_type PT_LOAD
	ptGNUStack = 0x6474e551 // p_type PT_GNU_STACK: its flags say the stack is not executable
	pfX        = 1          // p_flags: executable
	pfW        = 2          // p_flags: writable
	pfR        = 4          // p_flags: readable
)

// executable wraps code in a static ELF executable for machine whose entry point is
// the code's first byte.
func executable(machine uint16, code []byte) []byte {
	size := uint64(codeOffset + len(code))
	b := make([]byte, 0, size)
	le := binary.LittleEndian
	// e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE, ABI
	// version 0, padding to 16 bytes.
	b = append(b, 0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	b = le.AppendUint16(b, etExec)            // e_type
	b = le.AppendUint16(b, machine)           // e_machine
	b = le.AppendUint32(b, 1)                 // e_version: EV_CURRENT
	b = le.AppendUint64(b, EntryAddress)      // e_entry
	b = le.AppendUint64(b, elfHeaderSize)     // e_phoff: program headers follow the header
	b = le.AppendUint64(b, 0)                 // e_shoff: no section headers
	b = le.AppendUint32(b, 0)                 // e_flags
	b = le.AppendUint16(b, elfHeaderSize)     // e_ehsize
	b = le.AppendUint16(b, programHeaderSize) // e_phentsize
	b = le.AppendUint16(b, programHeaders)    // e_phnum
	b = le.AppendUint16(b, 0)                 // e_shentsize: no section headers
	b = le.AppendUint16(b, 0)                 // e_shnum
	b = le.AppendUint16(b, 0)                 // e_shstrndx: SHN_UNDEF
	// PT_LOAD maps the whole file, headers included, read-only and executable: the
	// program keeps its little data on the stack.
	b = programHeader(b, ptLoad, pfR|pfX, 0, baseAddress, size, loadAlign)
	// PT_GNU_STACK asks for a stack that is not executable.
	b = programHeader(b, ptGNUStack, pfR|pfW, 0, 0, 0, 16)
	if len(b) != codeOffset {
		panic(fmt.Sprintf("pause: ELF headers are %d bytes, want %d", len(b), codeOffset))
	}
	return append(b, code...)
}

// programHeader appends an Elf64_Phdr whose file and memory sizes are both size.
func programHeader(b []byte, typ, flags uint32, offset, addr, size, align uint64) []byte {
	le := binary.LittleEndian
	b = le.AppendUint32(b, typ)    // p_type
	b = le.AppendUint32(b, flags)  // p_flags
	b = le.AppendUint64(b, offset) // p_offset
	b = le.AppendUint64(b, addr)   // p_vaddr
	b = le.AppendUint64(b, addr)   // p_paddr
	b = le.AppendUint64(b, size)   // p_filesz
	b = le.AppendUint64(b, size)   // p_memsz
	return le.AppendUint64(b, align)
}

// insn is one machine instruction. A branch's encoding is completed once the offset
// of its target (the insn whose label is target) is known.
type insn struct {
	label  string                       // names this instruction for branches
	code   []byte                       // its encoding (a branch's with a zero offset)
	target string                       // a branch's target label, or ""
	branch func(code []byte, delta int) // writes delta, target minus this insn's offset
}

// assemble lays out insns and fills in their branch offsets.
func assemble(insns []insn) []byte {
	at := map[string]int{}
	n := 0
	for _, in := range insns {
		if in.label != "" {
			at[in.label] = n
		}
		n += len(in.code)
	}
	out := make([]byte, 0, n)
	for _, in := range insns {
		code := append([]byte(nil), in.code...)
		if in.target != "" {
			to, ok := at[in.target]
			if !ok {
				panic("pause: no label " + in.target)
			}
			in.branch(code, to-len(out))
		}
		out = append(out, code...)
	}
	return out
}

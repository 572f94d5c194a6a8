//! The ELF file around a trampoline's code: a static `ET_EXEC` image, built at
//! compile time. ELF header, a `PT_LOAD` program header (read + execute, the
//! whole file at one address), optionally a `PT_GNU_STACK` one, then the code
//! and its messages. No section headers, no interpreter: the kernel maps the
//! file and jumps to the first instruction.

/// `sizeof(Elf64_Ehdr)`.
pub(super) const EHDR_LEN: usize = 64;
/// `sizeof(Elf64_Phdr)`.
pub(super) const PHDR_LEN: usize = 56;

const PT_LOAD: u32 = 1;
const PT_GNU_STACK: u32 = 0x6474_e551;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;

/// What differs between the architectures' images.
pub(super) struct Elf {
    /// `e_machine`: `EM_X86_64`, `EM_AARCH64`, `EM_RISCV`.
    pub machine: u16,
    /// Where the kernel maps the file (the conventional non-PIE base).
    pub load_addr: u64,
    /// `p_align`: the largest page size of the architecture.
    pub align: u64,
    /// Whether to say, with `PT_GNU_STACK`, that the stack is not executable.
    pub gnu_stack: bool,
}

impl Elf {
    /// File offset (and offset from `load_addr`) of the first instruction.
    pub(super) const fn code_offset(&self) -> usize {
        EHDR_LEN + PHDR_LEN * if self.gnu_stack { 2 } else { 1 }
    }
}

const fn put(buf: &mut [u8], at: usize, bytes: &[u8]) -> usize {
    let mut i = 0;
    while i < bytes.len() {
        buf[at + i] = bytes[i];
        i += 1;
    }
    at + bytes.len()
}

/// Instruction words in the little-endian byte order of the file (the
/// fixed-width machines' code; x86_64's is bytes).
#[cfg(any(test, target_arch = "aarch64", target_arch = "riscv64"))]
pub(super) const fn le_words<const LEN: usize>(words: &[u32]) -> [u8; LEN] {
    let mut b = [0u8; LEN];
    assert!(words.len() * 4 == LEN);
    let mut i = 0;
    while i < words.len() {
        put(&mut b, 4 * i, &words[i].to_le_bytes());
        i += 1;
    }
    b
}

/// The image: headers for `elf`, then `parts` (the code first) one after the
/// other. `LEN` must be exactly their total length (checked at compile time).
pub(super) const fn image<const LEN: usize>(elf: &Elf, parts: &[&[u8]]) -> [u8; LEN] {
    let mut b = [0u8; LEN];
    let len = LEN as u64;
    let phnum: u16 = if elf.gnu_stack { 2 } else { 1 };
    // ELF header: 64-bit, little endian, version 1, System V ABI.
    put(&mut b, 0, &[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    put(&mut b, 16, &2u16.to_le_bytes()); // e_type: ET_EXEC
    put(&mut b, 18, &elf.machine.to_le_bytes()); // e_machine
    put(&mut b, 20, &1u32.to_le_bytes()); // e_version
    put(&mut b, 24, &(elf.load_addr + elf.code_offset() as u64).to_le_bytes()); // e_entry
    put(&mut b, 32, &(EHDR_LEN as u64).to_le_bytes()); // e_phoff
                                                       // e_shoff, e_flags: 0
    put(&mut b, 52, &(EHDR_LEN as u16).to_le_bytes()); // e_ehsize
    put(&mut b, 54, &(PHDR_LEN as u16).to_le_bytes()); // e_phentsize
    put(&mut b, 56, &phnum.to_le_bytes()); // e_phnum
                                           // e_shentsize, e_shnum, e_shstrndx: 0 (no sections)

    // PT_LOAD, PF_R | PF_X, the whole file at load_addr.
    let ph = EHDR_LEN;
    put(&mut b, ph, &PT_LOAD.to_le_bytes()); // p_type
    put(&mut b, ph + 4, &(PF_R | PF_X).to_le_bytes()); // p_flags
                                                       // p_offset: 0
    put(&mut b, ph + 16, &elf.load_addr.to_le_bytes()); // p_vaddr
    put(&mut b, ph + 24, &elf.load_addr.to_le_bytes()); // p_paddr
    put(&mut b, ph + 32, &len.to_le_bytes()); // p_filesz
    put(&mut b, ph + 40, &len.to_le_bytes()); // p_memsz
    put(&mut b, ph + 48, &elf.align.to_le_bytes()); // p_align
    if elf.gnu_stack {
        // PT_GNU_STACK, PF_R | PF_W: the stack is not executable.
        let ph = EHDR_LEN + PHDR_LEN;
        put(&mut b, ph, &PT_GNU_STACK.to_le_bytes());
        put(&mut b, ph + 4, &(PF_R | PF_W).to_le_bytes());
        put(&mut b, ph + 48, &16u64.to_le_bytes()); // p_align
    }

    let mut at = elf.code_offset();
    let mut i = 0;
    while i < parts.len() {
        at = put(&mut b, at, parts[i]);
        i += 1;
    }
    assert!(at == LEN, "LEN is not the length of the image");
    b
}

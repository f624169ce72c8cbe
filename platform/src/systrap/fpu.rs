//! FXSAVE images: the initial state of a process and what the CPU accepts.

use std::sync::OnceLock;

/// The MXCSR bits this CPU accepts (FXSAVE's MXCSR_MASK, 0xffbf when 0).
pub(super) fn mxcsr_mask() -> u32 {
    static MASK: OnceLock<u32> = OnceLock::new();
    *MASK.get_or_init(|| {
        #[repr(C, align(16))]
        struct Area([u8; 512]);
        let mut area = Area([0; 512]);
        // SAFETY: fxsave64 writes exactly 512 bytes to a 16-byte aligned buffer.
        unsafe { std::arch::asm!("fxsave64 [{}]", in(reg) area.0.as_mut_ptr(), options(nostack)) };
        let mask = u32::from_le_bytes([area.0[28], area.0[29], area.0[30], area.0[31]]);
        if mask == 0 {
            0xffbf
        } else {
            mask
        }
    })
}

/// The FXSAVE image of a new process: FCW 0x37f, MXCSR 0x1f80, all else 0.
pub(super) fn initial_fp_image() -> [u8; 512] {
    let mut image = [0u8; 512];
    reset_x87(&mut image);
    image[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
    image
}

/// Guest x87 state in its initial configuration (XSAVE leaves it out).
pub(super) fn reset_x87(fp: &mut [u8; 512]) {
    fp[0..24].fill(0);
    fp[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
    fp[32..160].fill(0);
}

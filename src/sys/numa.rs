//! set_mempolicy(2) and get_mempolicy(2), which libc does not wrap.

use std::io;

/// set_mempolicy(mode | flags, nodemask, maxnode) for the calling thread;
/// `nodemask` holds one bit per node (an empty mask passes NULL, as
/// MPOL_DEFAULT and MPOL_LOCAL require).
pub fn set_mempolicy(mode: i32, nodemask: &[libc::c_ulong]) -> io::Result<()> {
    let (ptr, maxnode) = if nodemask.is_empty() {
        (std::ptr::null(), 0)
    } else {
        // The kernel reads maxnode - 1 bits.
        (nodemask.as_ptr(), (nodemask.len() * libc::c_ulong::BITS as usize + 1) as libc::c_ulong)
    };
    // SAFETY: `ptr` is NULL or points to `nodemask`, whose bits cover the
    // maxnode - 1 bits the kernel reads.
    let r = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// get_mempolicy(2) of the calling thread: (mode with its flags, the first
/// word of the node mask).
pub fn get_mempolicy() -> io::Result<(i32, libc::c_ulong)> {
    let mut mode: libc::c_int = 0;
    let mut mask: [libc::c_ulong; 16] = [0; 16];
    let maxnode = (mask.len() * libc::c_ulong::BITS as usize) as libc::c_ulong;
    // SAFETY: both pointers are to valid locals; the mask has room for the
    // maxnode bits we announce; flags 0 and addr NULL ask for the thread's policy.
    let r = unsafe {
        libc::syscall(libc::SYS_get_mempolicy, &mut mode as *mut libc::c_int, mask.as_mut_ptr(), maxnode, 0usize, 0)
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((mode, mask[0]))
}

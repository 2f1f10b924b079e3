//! `repr(C)` mirrors of glibc's `struct aiocb` (== `aiocb64` on LP64),
//! `struct sigevent` and `struct aioinit`, and the AIO constants.
//!
//! The shim never changes the size or meaning of a user's aiocb. It uses
//! the fields glibc itself reserves for the implementation exactly as glibc
//! does (`__error_code`, `__return_value`, `__abs_prio`, `__policy`) and one
//! more: `__next_prio`, which glibc uses as a list link, carries the shim's
//! slot tag (see `slots.rs`).
use core::mem::{offset_of, size_of};
use libc::{c_int, c_void};

pub const LIO_READ: c_int = 0;
pub const LIO_WRITE: c_int = 1;
pub const LIO_NOP: c_int = 2;
/// glibc's internal opcodes, written into `aio_lio_opcode` by `aio_fsync`.
pub const LIO_DSYNC: c_int = 3;
pub const LIO_SYNC: c_int = 4;

pub const LIO_WAIT: c_int = 0;
pub const LIO_NOWAIT: c_int = 1;

pub const AIO_CANCELED: c_int = 0;
pub const AIO_NOTCANCELED: c_int = 1;
pub const AIO_ALLDONE: c_int = 2;

/// `AIO_PRIO_DELTA_MAX` in glibc.
pub const AIO_PRIO_DELTA_MAX: c_int = 20;

pub const SIGEV_SIGNAL: c_int = 0;
pub const SIGEV_NONE: c_int = 1;
pub const SIGEV_THREAD: c_int = 2;
pub const SIGEV_THREAD_ID: c_int = 4;

pub const SI_ASYNCIO: c_int = -4;

/// `struct sigevent` (64 bytes). The union at offset 16 is either the
/// thread id (`SIGEV_THREAD_ID`) or function + attributes (`SIGEV_THREAD`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Sigevent {
    pub sigev_value: usize,
    pub sigev_signo: c_int,
    pub sigev_notify: c_int,
    pub sigev_notify_function: usize,
    pub sigev_notify_attributes: usize,
    pub _pad: [u64; 4],
}

impl Sigevent {
    /// `_sigev_un._tid` overlays the first 4 bytes of the function pointer.
    pub fn thread_id(&self) -> libc::pid_t {
        self.sigev_notify_function as u32 as libc::pid_t
    }
    pub fn none() -> Sigevent {
        Sigevent {
            sigev_value: 0,
            sigev_signo: 0,
            sigev_notify: SIGEV_NONE,
            sigev_notify_function: 0,
            sigev_notify_attributes: 0,
            _pad: [0; 4],
        }
    }
}

/// glibc's `struct aiocb` / `struct aiocb64` on x86_64 and aarch64 (LP64).
#[repr(C)]
pub struct Aiocb {
    pub aio_fildes: c_int,
    pub aio_lio_opcode: c_int,
    pub aio_reqprio: c_int,
    pub aio_buf: *mut c_void,
    pub aio_nbytes: usize,
    pub aio_sigevent: Sigevent,
    pub __next_prio: u64,
    pub __abs_prio: c_int,
    pub __policy: c_int,
    pub __error_code: c_int,
    pub __return_value: isize,
    pub aio_offset: i64,
    pub __glibc_reserved: [u8; 32],
}

/// `struct aioinit`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Aioinit {
    pub aio_threads: c_int,
    pub aio_num: c_int,
    pub aio_locks: c_int,
    pub aio_usedba: c_int,
    pub aio_debug: c_int,
    pub aio_numusers: c_int,
    pub aio_idle_time: c_int,
    pub aio_reserved: c_int,
}

const _: () = {
    assert!(size_of::<Sigevent>() == 64);
    assert!(offset_of!(Sigevent, sigev_value) == 0);
    assert!(offset_of!(Sigevent, sigev_signo) == 8);
    assert!(offset_of!(Sigevent, sigev_notify) == 12);
    assert!(offset_of!(Sigevent, sigev_notify_function) == 16);
    assert!(offset_of!(Sigevent, sigev_notify_attributes) == 24);
    assert!(size_of::<Aiocb>() == 168);
    assert!(offset_of!(Aiocb, aio_fildes) == 0);
    assert!(offset_of!(Aiocb, aio_lio_opcode) == 4);
    assert!(offset_of!(Aiocb, aio_reqprio) == 8);
    assert!(offset_of!(Aiocb, aio_buf) == 16);
    assert!(offset_of!(Aiocb, aio_nbytes) == 24);
    assert!(offset_of!(Aiocb, aio_sigevent) == 32);
    assert!(offset_of!(Aiocb, __next_prio) == 96);
    assert!(offset_of!(Aiocb, __abs_prio) == 104);
    assert!(offset_of!(Aiocb, __policy) == 108);
    assert!(offset_of!(Aiocb, __error_code) == 112);
    assert!(offset_of!(Aiocb, __return_value) == 120);
    assert!(offset_of!(Aiocb, aio_offset) == 128);
    assert!(offset_of!(Aiocb, __glibc_reserved) == 136);
    assert!(size_of::<Aioinit>() == 32);
};

/// The layout as `(name, offset, size)`, for the test that compares it with
/// what the C compiler says about `<aio.h>`.
pub fn layout_table() -> Vec<(&'static str, usize, usize)> {
    macro_rules! f {
        ($t:ty, $f:ident, $name:expr, $sz:expr) => {
            ($name, offset_of!($t, $f), $sz)
        };
    }
    vec![
        ("sizeof(struct aiocb)", 0, size_of::<Aiocb>()),
        ("sizeof(struct aioinit)", 0, size_of::<Aioinit>()),
        ("sizeof(struct sigevent)", 0, size_of::<Sigevent>()),
        f!(Aiocb, aio_fildes, "aiocb.aio_fildes", 4),
        f!(Aiocb, aio_lio_opcode, "aiocb.aio_lio_opcode", 4),
        f!(Aiocb, aio_reqprio, "aiocb.aio_reqprio", 4),
        f!(Aiocb, aio_buf, "aiocb.aio_buf", 8),
        f!(Aiocb, aio_nbytes, "aiocb.aio_nbytes", 8),
        f!(Aiocb, aio_sigevent, "aiocb.aio_sigevent", 64),
        f!(Aiocb, __next_prio, "aiocb.__next_prio", 8),
        f!(Aiocb, __abs_prio, "aiocb.__abs_prio", 4),
        f!(Aiocb, __policy, "aiocb.__policy", 4),
        f!(Aiocb, __error_code, "aiocb.__error_code", 4),
        f!(Aiocb, __return_value, "aiocb.__return_value", 8),
        f!(Aiocb, aio_offset, "aiocb.aio_offset", 8),
        f!(Aiocb, __glibc_reserved, "aiocb.__glibc_reserved", 32),
        f!(Sigevent, sigev_value, "sigevent.sigev_value", 8),
        f!(Sigevent, sigev_signo, "sigevent.sigev_signo", 4),
        f!(Sigevent, sigev_notify, "sigevent.sigev_notify", 4),
        f!(Sigevent, sigev_notify_function, "sigevent._sigev_un._sigev_thread._function", 8),
        f!(Sigevent, sigev_notify_attributes, "sigevent._sigev_un._sigev_thread._attribute", 8),
        f!(Aioinit, aio_threads, "aioinit.aio_threads", 4),
        f!(Aioinit, aio_num, "aioinit.aio_num", 4),
        f!(Aioinit, aio_locks, "aioinit.aio_locks", 4),
        f!(Aioinit, aio_usedba, "aioinit.aio_usedba", 4),
        f!(Aioinit, aio_debug, "aioinit.aio_debug", 4),
        f!(Aioinit, aio_numusers, "aioinit.aio_numusers", 4),
        f!(Aioinit, aio_idle_time, "aioinit.aio_idle_time", 4),
        f!(Aioinit, aio_reserved, "aioinit.aio_reserved", 4),
    ]
}

/// The constants as `(name, value)`, for the same test.
pub fn constant_table() -> Vec<(&'static str, i64)> {
    vec![
        ("LIO_READ", LIO_READ as i64),
        ("LIO_WRITE", LIO_WRITE as i64),
        ("LIO_NOP", LIO_NOP as i64),
        ("LIO_WAIT", LIO_WAIT as i64),
        ("LIO_NOWAIT", LIO_NOWAIT as i64),
        ("AIO_CANCELED", AIO_CANCELED as i64),
        ("AIO_NOTCANCELED", AIO_NOTCANCELED as i64),
        ("AIO_ALLDONE", AIO_ALLDONE as i64),
        ("AIO_PRIO_DELTA_MAX", AIO_PRIO_DELTA_MAX as i64),
        ("SIGEV_SIGNAL", SIGEV_SIGNAL as i64),
        ("SIGEV_NONE", SIGEV_NONE as i64),
        ("SIGEV_THREAD", SIGEV_THREAD as i64),
        ("SIGEV_THREAD_ID", SIGEV_THREAD_ID as i64),
        ("SI_ASYNCIO", SI_ASYNCIO as i64),
    ]
}

// The engine's entry points, as libaio_shim.so (shim/stub.rs) finds them in
// libaio_shim_engine.so (shim/src/lib.rs). Both sides `include!` this file,
// so it uses only `core`. Change ENGINE_ABI with anything here: the stub
// refuses a table whose `abi` or `size` differs (and falls back to glibc).

pub const ENGINE_ABI: u32 = 2;
/// The symbol the engine exports: `extern "C" fn() -> *const EngineTable`.
pub const ENGINE_SYMBOL: &core::ffi::CStr = c"aio_shim_engine_v1";

// Entry indexes. Each holds a pointer to a function with the C signature of
// the glibc function named (lio_listio_old: `lio_listio@GLIBC_2.2.5`).
pub const E_READ: usize = 0;
pub const E_WRITE: usize = 1;
pub const E_FSYNC: usize = 2;
pub const E_ERROR: usize = 3;
pub const E_RETURN: usize = 4;
pub const E_SUSPEND: usize = 5; // extern "C-unwind": a cancellation point
pub const E_CANCEL: usize = 6;
pub const E_LIO_LISTIO: usize = 7;
pub const E_LIO_LISTIO_OLD: usize = 8;
pub const E_INIT: usize = 9;
pub const ENTRIES: usize = 10;

/// Where glibc's struct aiocb (x86-64) keeps `__error_code` and
/// `__return_value`: the stub reads them itself before the engine is loaded.
/// The engine checks these against its `Aiocb` at compile time.
pub const AIOCB_ERROR_CODE_AT: usize = 112;
pub const AIOCB_RETURN_VALUE_AT: usize = 120;

#[repr(C)]
pub struct EngineTable {
    pub abi: u32,
    /// `size_of::<EngineTable>()`.
    pub size: u32,
    pub entries: [*const (); ENTRIES],
    /// `extern "C" fn(*const AtomicU32)`: the stub hands the engine its
    /// RLIMIT_FSIZE change count (stub.rs `FSIZE_GEN`) before any call.
    pub attach: *const (),
}

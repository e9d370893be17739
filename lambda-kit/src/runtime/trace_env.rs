//! `_X_AMZN_TRACE_ID`, which Lambda asks custom runtimes to set to each invocation's trace
//! header, for the SDKs that read it.
//!
//! glibc's `setenv` never frees a value it replaces, since a pointer `getenv` gave out may
//! still be in use; it keeps every value it was given. Trace headers differ on every
//! invocation, so setting each with `std::env::set_var` grows the process by about 140
//! bytes per invocation: some 140 MB over a million invocations of one environment. So on
//! Unix the variable lives in one buffer the runtime owns, given to the environment once
//! with `putenv` (which keeps the pointer, not a copy) and rewritten in place; a longer
//! header than the buffer holds gets a new buffer, twice the size.

/// Whether `_X_AMZN_TRACE_ID` can be written between invocations: only on the
/// current-thread executor, where no task of this process runs while the loop does. On
/// the multi-thread one a task an earlier invocation spawned may be reading the
/// environment on another worker thread, and writing it then is undefined behaviour.
pub(super) fn trace_env_is_safe_to_set() -> bool {
    let current_thread = tokio::runtime::Handle::try_current().is_ok_and(|handle| {
        handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread
    });
    if !current_thread {
        tracing::info!(
            "_X_AMZN_TRACE_ID is not set on the multi-thread executor; the trace header is \
             on each invocation's Context (Context::xray_trace_id)"
        );
    }
    current_thread
}

/// The variable's name.
const NAME: &str = "_X_AMZN_TRACE_ID";

/// `_X_AMZN_TRACE_ID`, kept equal to the current invocation's trace header.
pub(super) struct TraceEnv {
    /// Whether the variable is set, so that an invocation without a trace does not pay for
    /// removing a variable that is not there.
    set: bool,
    /// `_X_AMZN_TRACE_ID=<header>\0`, which the environment points at once it was set.
    #[cfg(unix)]
    entry: Option<Entry>,
}

impl TraceEnv {
    /// The variable as the process started with it.
    pub(super) fn from_env() -> Self {
        TraceEnv {
            set: std::env::var_os(NAME).is_some(),
            #[cfg(unix)]
            entry: None,
        }
    }

    /// Sets the variable to this invocation's trace header, or removes it.
    ///
    /// # Safety
    ///
    /// No other thread of the process may read or write the environment meanwhile (see
    /// [`trace_env_is_safe_to_set`]), as for `std::env::set_var`.
    pub(super) unsafe fn follow(&mut self, trace_id: Option<&str>) {
        match trace_id {
            Some(value) if !value.contains('\0') => {
                // SAFETY: the caller's promise.
                unsafe { self.set_to(value) };
                self.set = true;
            }
            _ if self.set => {
                // SAFETY: the caller's promise.
                unsafe { std::env::remove_var(NAME) };
                self.set = false;
            }
            _ => {}
        }
    }

    #[cfg(not(unix))]
    unsafe fn set_to(&mut self, value: &str) {
        // SAFETY: the caller's promise.
        unsafe { std::env::set_var(NAME, value) };
    }

    #[cfg(unix)]
    unsafe fn set_to(&mut self, value: &str) {
        let needed = NAME.len() + 1 + value.len() + 1;
        if self
            .entry
            .as_ref()
            .is_none_or(|entry| entry.bytes.len() < needed)
        {
            let capacity = needed.max(Entry::FIRST_CAPACITY).next_power_of_two();
            self.entry = Some(Entry::new(capacity));
        }
        let Some(entry) = self.entry.as_mut() else {
            return;
        };
        entry.write(value);
        // Given to the environment again when it no longer points at it: the first time,
        // after a new buffer, or after a handler set or removed the variable itself.
        if !entry.is_in_environment() {
            // SAFETY: the caller's promise; the entry is NUL-terminated `NAME=value` and
            // stays allocated, unmoved, for the rest of the process.
            unsafe { entry.put() };
        }
    }
}

/// One buffer holding `NAME=value\0`. Never freed: once given to `putenv` it belongs to the
/// environment, and a pointer `getenv` returned into it may outlive its replacement.
#[cfg(unix)]
struct Entry {
    bytes: &'static mut [u8],
}

#[cfg(unix)]
impl Entry {
    /// Room for Lambda's headers (`Root`, `Parent`, `Sampled`, `Lineage`: about 120 bytes).
    const FIRST_CAPACITY: usize = 256;

    fn new(capacity: usize) -> Self {
        let bytes = Box::leak(vec![0u8; capacity].into_boxed_slice());
        bytes[..NAME.len()].copy_from_slice(NAME.as_bytes());
        bytes[NAME.len()] = b'=';
        Entry { bytes }
    }

    /// Writes `value` and its terminating NUL after `NAME=`; the caller made sure it fits.
    fn write(&mut self, value: &str) {
        let start = NAME.len() + 1;
        self.bytes[start..start + value.len()].copy_from_slice(value.as_bytes());
        self.bytes[start + value.len()] = 0;
    }

    /// Whether the environment's `_X_AMZN_TRACE_ID` is this buffer.
    fn is_in_environment(&self) -> bool {
        let name = c"_X_AMZN_TRACE_ID";
        // SAFETY: `name` is NUL-terminated; the pointer returned is only compared.
        let current = unsafe { libc::getenv(name.as_ptr()) };
        std::ptr::eq(
            current.cast_const(),
            self.bytes[NAME.len() + 1..].as_ptr().cast(),
        )
    }

    /// Makes the environment's `_X_AMZN_TRACE_ID` this buffer.
    ///
    /// # Safety
    ///
    /// As [`TraceEnv::follow`].
    unsafe fn put(&mut self) {
        // SAFETY: the buffer is `NAME=value\0`, leaked, so valid for the rest of the
        // process; `putenv` keeps the pointer and may write through it on none of glibc's,
        // musl's or the BSDs' paths.
        unsafe { libc::putenv(self.bytes.as_mut_ptr().cast()) };
    }
}

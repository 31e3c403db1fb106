//! A bound on Argon2 work running at once. Each hash or verification holds 19 MiB and tens of
//! milliseconds of CPU; without a bound, a burst of logins or password changes (each on its
//! own blocking thread) could take gigabytes. Callers beyond the bound wait their turn.

use parking_lot::{Condvar, Mutex};

/// Argon2 operations allowed at once per store.
pub const MAX_CONCURRENT_ARGON2: usize = 4;

pub(crate) struct Limiter {
    running: Mutex<usize>,
    freed: Condvar,
    max: usize,
}

/// Held while one Argon2 operation runs.
pub(crate) struct Permit<'a> {
    limiter: &'a Limiter,
}

impl Limiter {
    pub(crate) fn new(max: usize) -> Limiter {
        Limiter { running: Mutex::new(0), freed: Condvar::new(), max: max.max(1) }
    }

    /// Waits until fewer than `max` operations run, then counts this one.
    pub(crate) fn acquire(&self) -> Permit<'_> {
        let mut running = self.running.lock();
        while *running >= self.max {
            self.freed.wait(&mut running);
        }
        *running += 1;
        Permit { limiter: self }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.limiter.running.lock() -= 1;
        self.limiter.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn never_more_than_max_run_at_once() {
        let limiter = Arc::new(Limiter::new(2));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (limiter, running, peak) = (limiter.clone(), running.clone(), peak.clone());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let _permit = limiter.acquire();
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_micros(200));
                        running.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2, "the bound was reached and never exceeded");
    }
}

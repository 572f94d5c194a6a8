//! Per-layer progress on stderr, only when stderr is a terminal: one line
//! redrawn a few times a second with each layer's compressed bytes read.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::units::human;

/// Byte counters for a set of layers, and the thread drawing them.
pub struct Progress {
    counters: Vec<(String, Option<u64>, Arc<AtomicU64>)>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn render(counters: &[(String, Option<u64>, Arc<AtomicU64>)]) -> String {
    counters
        .iter()
        .map(|(name, total, c)| {
            let done = c.load(Ordering::Relaxed);
            match total {
                Some(t) => format!("{name} {}/{}", human(done), human(*t)),
                None => format!("{name} {}", human(done)),
            }
        })
        .collect::<Vec<_>>()
        .join("  ")
}

impl Progress {
    /// Track `layers` (short name, size if known). Draws only if stderr is a tty.
    pub fn new(layers: Vec<(String, Option<u64>)>) -> Self {
        let counters: Vec<_> = layers.into_iter().map(|(n, s)| (n, s, Arc::new(AtomicU64::new(0)))).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = if std::io::stderr().is_terminal() && !counters.is_empty() {
            let c = counters.clone();
            let s = stop.clone();
            std::thread::Builder::new()
                .name("progress".into())
                .spawn(move || {
                    while !s.load(Ordering::Relaxed) {
                        let _ = write!(std::io::stderr(), "\r\x1b[K{}", render(&c));
                        std::thread::sleep(Duration::from_millis(200));
                    }
                    let _ = writeln!(std::io::stderr(), "\r\x1b[K{}", render(&c));
                })
                .ok()
        } else {
            None
        };
        Progress { counters, stop, thread }
    }

    /// A quiet tracker (no drawing).
    pub fn quiet() -> Self {
        Progress { counters: Vec::new(), stop: Arc::new(AtomicBool::new(true)), thread: None }
    }

    /// The counter of layer `i`, if tracked.
    pub fn counter(&self, i: usize) -> Option<Arc<AtomicU64>> {
        self.counters.get(i).map(|(_, _, c)| c.clone())
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_sizes() {
        let c = vec![("abc".to_string(), Some(2048), Arc::new(AtomicU64::new(1024)))];
        assert_eq!(render(&c), "abc 1.0 KiB/2.0 KiB");
    }
}

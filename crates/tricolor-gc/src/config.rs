//! Collector configuration: the [`Config`] type and the `TRICOLOR_*` environment knobs.
//!
//! | variable | meaning | values |
//! |---|---|---|
//! | `TRICOLOR_GOGC` | heap growth ratio in percent (Go's GOGC) | a non-negative integer, or `off` |
//! | `TRICOLOR_MEMORY_LIMIT` | soft memory limit | bytes, with an optional `KiB`/`MiB`/`GiB`/`TiB` (or `K`/`M`/`G`/`T`) suffix, or `off` |
//! | `TRICOLOR_GCTRACE` | print one line per cycle on stderr | `0` or `1` |
//! | `TRICOLOR_GC_STRESS` | collect at every allocation slow path and poll point | `0` or `1` |
//! | `TRICOLOR_MARK_WORKERS` | number of background mark workers | a positive integer |
//! | `TRICOLOR_HUGE_PAGES` | ask for transparent huge pages for the heap ([`Config::huge_pages`]) | `0` or `1` |
//!
//! [`Config::from_env`] starts from the defaults and applies the variables that are set; a bad
//! value is an error naming the variable and the accepted forms, never silently ignored.

use std::fmt;
use std::time::Duration;

/// How the collector paces and runs itself. Build one with [`Config::default`] or
/// [`Config::from_env`] and adjust the fields.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// Heap growth ratio in percent: the next cycle's heap goal is the heap the last mark
    /// traced times `1 + gogc/100`, plus what was allocated (black) during that mark. `None`
    /// turns the ratio off (only the memory limit, explicit requests and stress mode start
    /// cycles), like `GOGC=off`. Default `Some(100)`.
    pub gogc: Option<u32>,
    /// Soft memory limit in bytes: the heap goal is lowered so that the heap stays under it.
    /// `None` means no limit. Allocation beyond the limit still succeeds unless it is made with
    /// a fallible allocation call. Default `None`.
    pub memory_limit: Option<usize>,
    /// Print one line per cycle on stderr (like Go's `GODEBUG=gctrace=1`). Default `false`.
    pub gctrace: bool,
    /// Stress mode: every allocation takes the slow path, and every slow path and poll point
    /// requests a collection. For testing clients; very slow. Default `false`.
    pub stress: bool,
    /// Number of background mark worker threads. Default: a quarter of the available cores,
    /// at least one.
    pub mark_workers: usize,
    /// Smallest heap goal, so that tiny heaps do not collect constantly (scaled by `gogc/100`).
    /// Default 4 MiB, as in Go.
    pub min_heap_goal: usize,
    /// A cycle is forced when none has run for this long (`None` disables it). Default two
    /// minutes, as in Go.
    pub forced_cycle_interval: Option<Duration>,
    /// Address space reserved for the heap (the most it can ever hold). Default 64 GiB; the
    /// reservation costs no memory.
    pub max_heap_bytes: usize,
    /// Run the background scavenger, which returns idle pages to the OS. Default `true`.
    pub scavenge: bool,
    /// Size of the arenas the heap grows by (a power of two, at least 256 KiB). Default
    /// 64 MiB, as in Go; each active arena has a page table of `arena_bytes / 8 KiB` entries.
    pub arena_bytes: usize,
    /// Ask the kernel for transparent huge pages for the heap (`MADV_HUGEPAGE`). Default
    /// `false`. Marking a large heap is random access, much of it TLB misses with 4 KiB pages:
    /// on the development VM, huge pages cut the time of random access over 1 GiB by a third
    /// and the latency harness's median mutator gap by about 30 %; small heaps did not change
    /// (see `docs/PERFORMANCE.md`). Worth trying for heaps of hundreds of MiB or more. Ignored
    /// where the kernel has no transparent huge pages (and under its `never` setting). Off by
    /// default because, under the kernel's default THP `defrag` setting (`madvise`), a page
    /// fault in advised memory may enter direct reclaim and compaction: on a machine with
    /// fragmented memory, an allocation that takes fresh pages can then stall for milliseconds.
    pub huge_pages: bool,
}

impl Default for Config {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Config {
            gogc: Some(100),
            memory_limit: None,
            gctrace: false,
            stress: false,
            mark_workers: (cores / 4).max(1),
            min_heap_goal: 4 << 20,
            forced_cycle_interval: Some(Duration::from_secs(120)),
            max_heap_bytes: 64 << 30,
            scavenge: true,
            arena_bytes: 64 << 20,
            huge_pages: false,
        }
    }
}

/// A `TRICOLOR_*` variable (or a [`Config`] field) had a value that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable or field name.
    pub name: &'static str,
    /// The rejected value.
    pub value: String,
    /// What would have been accepted.
    pub expected: &'static str,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {}={:?}: expected {}",
            self.name, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// The defaults with every `TRICOLOR_*` variable that is set applied.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::default().with_vars(|name| std::env::var(name).ok())
    }

    /// Applies the variables that `get` returns (the testable core of [`Config::from_env`]).
    pub fn with_vars(
        mut self,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        if let Some(v) = get("TRICOLOR_GOGC") {
            self.gogc = parse_gogc(&v)?;
        }
        if let Some(v) = get("TRICOLOR_MEMORY_LIMIT") {
            self.memory_limit = parse_limit(&v)?;
        }
        if let Some(v) = get("TRICOLOR_GCTRACE") {
            self.gctrace = parse_flag("TRICOLOR_GCTRACE", &v)?;
        }
        if let Some(v) = get("TRICOLOR_GC_STRESS") {
            self.stress = parse_flag("TRICOLOR_GC_STRESS", &v)?;
        }
        if let Some(v) = get("TRICOLOR_HUGE_PAGES") {
            self.huge_pages = parse_flag("TRICOLOR_HUGE_PAGES", &v)?;
        }
        if let Some(v) = get("TRICOLOR_MARK_WORKERS") {
            self.mark_workers = match v.trim().parse::<usize>() {
                Ok(n) if (1..=256).contains(&n) => n,
                _ => {
                    return Err(ConfigError {
                        name: "TRICOLOR_MARK_WORKERS",
                        value: v,
                        expected: "an integer from 1 to 256",
                    });
                }
            };
        }
        self.validate()?;
        Ok(self)
    }

    /// Checks the fields for values the collector cannot work with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.mark_workers == 0 || self.mark_workers > 256 {
            return Err(ConfigError {
                name: "mark_workers",
                value: self.mark_workers.to_string(),
                expected: "an integer from 1 to 256",
            });
        }
        if !self.arena_bytes.is_power_of_two() || self.arena_bytes < (256 << 10) {
            return Err(ConfigError {
                name: "arena_bytes",
                value: self.arena_bytes.to_string(),
                expected: "a power of two, at least 256 KiB",
            });
        }
        if self.max_heap_bytes < self.arena_bytes.max(4 << 20) {
            return Err(ConfigError {
                name: "max_heap_bytes",
                value: self.max_heap_bytes.to_string(),
                expected: "at least 4 MiB and at least one arena",
            });
        }
        if let Some(g) = self.gogc
            && g > 1_000_000
        {
            return Err(ConfigError {
                name: "gogc",
                value: g.to_string(),
                expected: "at most 1000000 (or off)",
            });
        }
        Ok(())
    }
}

fn parse_gogc(v: &str) -> Result<Option<u32>, ConfigError> {
    let t = v.trim();
    if t.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    match t.parse::<u32>() {
        Ok(n) if n <= 1_000_000 => Ok(Some(n)),
        _ => Err(ConfigError {
            name: "TRICOLOR_GOGC",
            value: v.to_owned(),
            expected: "a percentage from 0 to 1000000, or off",
        }),
    }
}

fn parse_flag(name: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.trim() {
        "" | "0" | "false" | "off" => Ok(false),
        "1" | "true" | "on" => Ok(true),
        _ => Err(ConfigError {
            name,
            value: v.to_owned(),
            expected: "0 or 1",
        }),
    }
}

/// Parses a byte size such as `512MiB`, `2G` or `1048576`; `off` means no limit.
pub fn parse_limit(v: &str) -> Result<Option<usize>, ConfigError> {
    let err = || ConfigError {
        name: "TRICOLOR_MEMORY_LIMIT",
        value: v.to_owned(),
        expected: "a byte count with an optional KiB/MiB/GiB/TiB suffix, or off",
    };
    let t = v.trim();
    if t.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, suffix) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| err())?;
    let shift = match suffix.trim() {
        "" | "B" => 0,
        "K" | "KiB" | "KB" => 10,
        "M" | "MiB" | "MB" => 20,
        "G" | "GiB" | "GB" => 30,
        "T" | "TiB" | "TB" => 40,
        _ => return Err(err()),
    };
    let bytes = n.checked_mul(1u64 << shift).ok_or_else(err)?;
    usize::try_from(bytes).map(Some).map_err(|_| err())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn defaults_are_valid() {
        let c = Config::default();
        c.validate().unwrap();
        assert_eq!(c.gogc, Some(100));
        assert!(c.mark_workers >= 1);
    }

    #[test]
    fn env_values_apply() {
        let c = Config::default()
            .with_vars(env(&[
                ("TRICOLOR_GOGC", "off"),
                ("TRICOLOR_MEMORY_LIMIT", "512MiB"),
                ("TRICOLOR_GCTRACE", "1"),
                ("TRICOLOR_GC_STRESS", "0"),
                ("TRICOLOR_MARK_WORKERS", "3"),
                ("TRICOLOR_HUGE_PAGES", "1"),
            ]))
            .unwrap();
        assert!(c.huge_pages);
        assert_eq!(c.gogc, None);
        assert_eq!(c.memory_limit, Some(512 << 20));
        assert!(c.gctrace);
        assert!(!c.stress);
        assert_eq!(c.mark_workers, 3);
        let c = Config::default()
            .with_vars(env(&[("TRICOLOR_GOGC", "50")]))
            .unwrap();
        assert_eq!(c.gogc, Some(50));
    }

    #[test]
    fn bad_values_are_rejected_with_the_variable_named() {
        for (k, v) in [
            ("TRICOLOR_GOGC", "-5"),
            ("TRICOLOR_GOGC", "lots"),
            ("TRICOLOR_MEMORY_LIMIT", "12 parsecs"),
            ("TRICOLOR_MEMORY_LIMIT", "99999999999999999999"),
            ("TRICOLOR_GCTRACE", "yes please"),
            ("TRICOLOR_GC_STRESS", "2"),
            ("TRICOLOR_MARK_WORKERS", "0"),
        ] {
            let e = Config::default().with_vars(env(&[(k, v)])).unwrap_err();
            assert_eq!(e.name, k);
            assert!(e.to_string().contains(k), "{e}");
        }
    }

    #[test]
    fn limits_parse() {
        assert_eq!(parse_limit("1048576").unwrap(), Some(1 << 20));
        assert_eq!(parse_limit("2G").unwrap(), Some(2 << 30));
        assert_eq!(parse_limit("3 KiB").unwrap(), Some(3 << 10));
        assert_eq!(parse_limit("off").unwrap(), None);
        assert!(parse_limit("").is_err());
        assert!(parse_limit("G").is_err());
    }
}

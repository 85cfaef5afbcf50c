// Unions cannot be traced: the collector could not tell which field is active.
use tricolor::Trace;

#[derive(Trace)]
union Bits {
    int: u64,
    float: f64,
}

fn main() {}

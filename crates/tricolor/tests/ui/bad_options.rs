// Unknown or misplaced `#[trace(...)]` options are reported at the option.
use tricolor::Trace;

#[derive(Trace)]
#[trace(skip)]
struct SkipOnType(u8);

#[derive(Trace)]
#[trace(no_drop)]
struct UnknownTypeOption(u8);

#[derive(Trace)]
struct UnknownFieldOption {
    #[trace(ignore)]
    field: u8,
}

#[derive(Trace)]
struct TypeOptionOnField {
    #[trace(unsafe_drop)]
    field: u8,
}

#[derive(Trace)]
enum OptionOnVariant {
    #[trace(skip)]
    Variant(u8),
}

#[derive(Trace)]
#[trace(static = true)]
struct FlagWithValue(u8);

#[derive(Trace)]
#[trace(bound = "T Trace")]
struct BadBound<T>(T);

#[derive(Trace)]
#[trace(gc_lifetime = "gc")]
struct BrandNotALifetime(u8);

#[derive(Trace)]
#[trace(gc_lifetime = "'static")]
struct StaticBrand(u8);

#[derive(Trace)]
struct BrandOnField {
    #[trace(gc_lifetime = "'gc")]
    field: u8,
}

#[derive(Trace)]
#[repr(C, packed)]
struct Packed(u8, u32);

fn main() {}

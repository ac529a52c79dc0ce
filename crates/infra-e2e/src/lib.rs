//! End-to-end tests of the production example on the AWS emulator
//! (`tests/`), driving the real stack program (`src/bin`).

/// xorshift64*: a small deterministic generator for kill instants, so a
/// failure reproduces.
#[derive(Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// The next number in [0, 1).
    pub fn next_unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

//! A small deterministic random source: tests that draw random data or fault points
//! stay reproducible (print the seed on failure).

/// A 64-bit linear congruential generator (Knuth's MMIX constants).
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 31 random bits.
    pub fn bits(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// A random number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.bits() % n
    }
}

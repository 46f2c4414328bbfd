//! MiMC over the BLS12-377 scalar field, exactly as Linea's state tree (Shomei 2.x, gnark-crypto) uses it:
//! 62 rounds of x^17 and Miyaguchi-Preneel chaining; the reference is linen/state/hashers/mimc.py.

use std::sync::LazyLock;

use ark_bls12_377::Fr;
use ark_ff::{AdditiveGroup, Field, PrimeField};
use tiny_keccak::{Hasher, Keccak};

pub const ROUNDS: usize = 62;

fn keccak256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut k = Keccak::v256();
    k.update(data);
    k.finalize(&mut out);
    out
}

/// Round constants derived as in mimc.py: seed = keccak("seed"), then seed = keccak(seed) once per
/// round, each reduced mod r.
pub static CONSTANTS: LazyLock<[Fr; ROUNDS]> = LazyLock::new(|| {
    let mut seed = keccak256(b"seed");
    let mut out = [Fr::from(0u64); ROUNDS];
    for c in out.iter_mut() {
        seed = keccak256(&seed);
        *c = Fr::from_be_bytes_mod_order(&seed);
    }
    out
});

#[inline(always)]
fn pow17(x: Fr) -> Fr {
    let mut y = x.square();
    y.square_in_place(); // x^4
    y.square_in_place(); // x^8
    y.square_in_place(); // x^16
    y * x
}

/// h starts at 0; each block m gives h = E_h(m) + h + m.
pub fn hash(values: &[Fr]) -> Fr {
    let constants: &[Fr; ROUNDS] = &CONSTANTS;
    let mut h = Fr::from(0u64);
    for &m in values {
        let mut x = m;
        for c in constants.iter() {
            x = pow17(x + h + c);
        }
        h = x + h.double() + m;
    }
    h
}

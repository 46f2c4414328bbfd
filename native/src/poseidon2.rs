//! Poseidon2 over the BN254 scalar field as Barretenberg / Noir compute it (t = 4, x^5, 4 + 56 + 4 rounds)
//! and the Noir `poseidon` library's sponge (rate 3, IV = len * 2^64); the reference is
//! linen/state/hashers/poseidon2.py.

use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, Field};

use crate::poseidon2_constants::{
    FIRST_FULL_ROUND_CONSTANTS, INTERNAL_DIAGONAL_MINUS_ONE, LAST_FULL_ROUND_CONSTANTS, PARTIAL_ROUND_CONSTANTS,
};

pub const RATE: usize = 3;

#[inline(always)]
fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// The 4x4 MDS matrix [[5,7,1,3],[4,6,1,1],[1,3,5,7],[1,1,4,6]] with 8 additions.
#[inline(always)]
fn external(s: &mut [Fr; 4]) {
    let t0 = s[0] + s[1];
    let t1 = s[2] + s[3];
    let t2 = s[1].double() + t1;
    let t3 = s[3].double() + t0;
    let t4 = t1.double().double() + t3;
    let t5 = t0.double().double() + t2;
    s[0] = t3 + t5;
    s[1] = t5;
    s[2] = t2 + t4;
    s[3] = t4;
}

#[inline(always)]
fn full_round(s: &mut [Fr; 4], rc: &[Fr; 4]) {
    for i in 0..4 {
        s[i] = sbox(s[i] + rc[i]);
    }
    external(s);
}

/// Noir's `poseidon2_permutation` on four BN254 elements.
pub fn permute(s: &mut [Fr; 4]) {
    external(s);
    for rc in FIRST_FULL_ROUND_CONSTANTS.iter() {
        full_round(s, rc);
    }
    let d = &INTERNAL_DIAGONAL_MINUS_ONE;
    for c in PARTIAL_ROUND_CONSTANTS.iter() {
        s[0] = sbox(s[0] + c);
        let total = s[0] + s[1] + s[2] + s[3];
        for i in 0..4 {
            s[i] = s[i] * d[i] + total;
        }
    }
    for rc in LAST_FULL_ROUND_CONSTANTS.iter() {
        full_round(s, rc);
    }
}

/// Noir `poseidon` library `Poseidon2::hash(input, input.len())`: absorb in blocks of 3, squeeze one.
pub fn hash(values: &[Fr]) -> Fr {
    let iv = Fr::from(values.len() as u64) * Fr::from(1u128 << 64);
    let mut state = [Fr::ZERO, Fr::ZERO, Fr::ZERO, iv];
    for (n, block) in values.chunks(RATE).enumerate() {
        if n > 0 {
            permute(&mut state);
        }
        for (i, v) in block.iter().enumerate() {
            state[i] += v;
        }
    }
    permute(&mut state);
    state[0]
}

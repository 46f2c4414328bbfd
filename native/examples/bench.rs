//! `cargo run --release --example bench`: raw hashes/s of the Rust cores (no Python in the loop).
use std::time::Instant;

use ark_ff::PrimeField;

fn main() {
    let a = ark_bls12_377::Fr::from_be_bytes_mod_order(&[7u8; 32]);
    let b = ark_bls12_377::Fr::from_be_bytes_mod_order(&[9u8; 32]);
    let n = 100_000;
    let t = Instant::now();
    let mut h = a;
    for _ in 0..n {
        h = linen_native::mimc_hash(&[h, b]);
    }
    println!("mimc-bls12-377 2-word: {:.0}/s ({h})", n as f64 / t.elapsed().as_secs_f64());
    let a = ark_bn254::Fr::from_be_bytes_mod_order(&[7u8; 32]);
    let b = ark_bn254::Fr::from_be_bytes_mod_order(&[9u8; 32]);
    let t = Instant::now();
    let mut h = a;
    for _ in 0..n {
        h = linen_native::poseidon2_hash(&[h, b]);
    }
    println!("poseidon2-bn254 2-word: {:.0}/s ({h})", n as f64 / t.elapsed().as_secs_f64());
}

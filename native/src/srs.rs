//! Linen's BN254 structured reference string (KZG powers of tau), in the file layout Barretenberg's
//! `bb -c DIR` reads:
//!
//! - `bn254_g1.dat`: N points [tau^i]G1, i = 0..N-1, each 64 bytes: x then y, each the canonical
//!   (non-Montgomery) value as 32 bytes big-endian. Point 0 is the generator (1, 2).
//! - `bn254_g2.dat`: [tau]G2, 128 bytes: x.c0, x.c1, y.c0, y.c1, each 32 bytes big-endian.
//!
//! (Found in Barretenberg's `get_bn254_crs.cpp`, which reads points with `from_buffer`, and checked
//! against the canonical setup's second G1 point and its G2 point, both of which decode to points on
//! the curve only in this order.)
//!
//! Generation is a fixed-base signed-window multiplication of G1 by tau^i (`FixedBase`: 17 affine
//! additions a point for large N, with batched inversions), in chunks spread over a rayon pool made
//! for the call (no global pool, so a forking parent stays safe). Verification checks every point is on the curve, point 0 is
//! the generator, [tau]G2 is in the G2 subgroup, and e(tau^{i+1} G1, G2) = e(tau^i G1, tau G2) for all
//! i at once with random 128-bit coefficients (two MSMs and one two-pair pairing).
//!
//! A contribution multiplies point i by s^i and [tau]G2 by s; it comes with [s]G1, [s]G2 and a
//! Schnorr proof of knowledge of s bound to the contributor's transcript.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::{AdditiveGroup, BigInt, Field, One, PrimeField, UniformRand, Zero};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use rayon::prelude::*;
use tiny_keccak::{Hasher, Keccak};

pub const G1_FILE: &str = "bn254_g1.dat";
pub const G2_FILE: &str = "bn254_g2.dat";
pub const G1_POINT_BYTES: usize = 64;
pub const G2_POINT_BYTES: usize = 128;

/// Points made or checked per chunk: bounds the memory (~10 MB a chunk) and lets the file be
/// written while the next chunk is computed.
const CHUNK: usize = 1 << 16;

pub type SrsResult<T> = Result<T, String>;

// -- encoding ------------------------------------------------------------------------------------

fn fq_to_be(value: &Fq, out: &mut [u8]) {
    let limbs = value.into_bigint().0;
    for (i, limb) in limbs.iter().enumerate() {
        let start = 32 - 8 * (i + 1);
        out[start..start + 8].copy_from_slice(&limb.to_be_bytes());
    }
}

fn fq_from_be(bytes: &[u8]) -> Option<Fq> {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        let start = 32 - 8 * (i + 1);
        *limb = u64::from_be_bytes(bytes[start..start + 8].try_into().unwrap());
    }
    Fq::from_bigint(BigInt::new(limbs))
}

pub fn encode_g1(point: &G1Affine, out: &mut [u8]) {
    // Never called with the identity: tau^i G1 for tau != 0.
    fq_to_be(&point.x, &mut out[..32]);
    fq_to_be(&point.y, &mut out[32..64]);
}

/// A G1 point from bb's 64-byte layout; None if a coordinate is not canonical or it is off the curve
/// (BN254's G1 has cofactor 1, so on the curve means in the group).
pub fn decode_g1(bytes: &[u8]) -> Option<G1Affine> {
    let point = G1Affine::new_unchecked(fq_from_be(&bytes[..32])?, fq_from_be(&bytes[32..64])?);
    point.is_on_curve().then_some(point)
}

pub fn encode_g2(point: &G2Affine) -> [u8; G2_POINT_BYTES] {
    let mut out = [0u8; G2_POINT_BYTES];
    fq_to_be(&point.x.c0, &mut out[0..32]);
    fq_to_be(&point.x.c1, &mut out[32..64]);
    fq_to_be(&point.y.c0, &mut out[64..96]);
    fq_to_be(&point.y.c1, &mut out[96..128]);
    out
}

/// A G2 point from bb's 128-byte layout, on the curve and in the prime-order subgroup.
pub fn decode_g2(bytes: &[u8]) -> Option<G2Affine> {
    if bytes.len() != G2_POINT_BYTES {
        return None;
    }
    let x = Fq2::new(fq_from_be(&bytes[0..32])?, fq_from_be(&bytes[32..64])?);
    let y = Fq2::new(fq_from_be(&bytes[64..96])?, fq_from_be(&bytes[96..128])?);
    let point = G2Affine::new_unchecked(x, y);
    (point.is_on_curve() && point.is_in_correct_subgroup_assuming_on_curve()).then_some(point)
}

fn fr_to_be(value: &Fr) -> [u8; 32] {
    let limbs = value.into_bigint().0;
    let mut out = [0u8; 32];
    for (i, limb) in limbs.iter().enumerate() {
        let start = 32 - 8 * (i + 1);
        out[start..start + 8].copy_from_slice(&limb.to_be_bytes());
    }
    out
}

fn keccak(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Keccak::v256();
    for part in parts {
        hasher.update(part);
    }
    let mut out = [0u8; 32];
    hasher.finalize(&mut out);
    out
}

/// A nonzero scalar from a seed: keccak256(domain || seed || counter) reduced mod r, the first
/// counter giving neither 0 nor 1 (tau = 1 would make every point the generator).
pub fn scalar_from_seed(domain: &[u8], seed: &[u8]) -> Fr {
    for counter in 0u32.. {
        let digest = keccak(&[domain, seed, &counter.to_be_bytes()]);
        let value = Fr::from_be_bytes_mod_order(&digest);
        if !value.is_zero() && !value.is_one() {
            return value;
        }
    }
    unreachable!()
}

// -- a pool for one call -------------------------------------------------------------------------

fn with_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> SrsResult<T> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map(|c| c.get()).unwrap_or(1)
    } else {
        threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| format!("cannot start {threads} SRS worker threads: {e}"))?;
    Ok(pool.install(f))
}

// -- generation ----------------------------------------------------------------------------------

/// tau^start, tau^(start+1), ..., `len` of them, computed in parallel sub-runs.
fn powers(tau: Fr, start: usize, len: usize) -> Vec<Fr> {
    let sub = 4096;
    (0..len.div_ceil(sub))
        .into_par_iter()
        .flat_map_iter(|k| {
            let from = start + k * sub;
            let count = sub.min(start + len - from);
            let mut cur = tau.pow([from as u64]);
            (0..count).map(move |_| {
                let out = cur;
                cur *= tau;
                out
            })
        })
        .collect()
}

/// Fixed-base multiplication of G1's generator by many scalars, in affine coordinates with batched
/// inversions: signed windows of `w` bits (digits in (-2^(w-1), 2^(w-1)]), a table of d * 2^(w i) G
/// for every window i and digit d > 0, and per chunk of scalars one batch inversion per window, so an
/// addition costs ~6 field multiplications instead of ~11 for a mixed Jacobian one, and no final
/// normalisation is needed. Additions whose operands share an x (doubling or cancelling, which for
/// scalars below r can only happen in the top window) fall back to projective arithmetic.
pub struct FixedBase {
    w: usize,
    windows: usize,
    table: Vec<Vec<G1Affine>>, // table[i][d - 1] = d * 2^(w i) G, d = 1..=2^(w-1)
}

/// Scalars per batch inversion: amortises the inversion (~250 multiplications) over many additions.
const BATCH: usize = 1024;

impl FixedBase {
    pub fn new(n_scalars: usize) -> Self {
        // Table build ~ windows * 2^(w-1) additions; keep it a fraction of the n * windows additions.
        let w = match n_scalars {
            0..=4095 => 8,
            4096..=65535 => 11,
            65536..=1048575 => 14,
            _ => 15,
        };
        let windows = 255usize.div_ceil(w); // scalars < r < 2^254: the top digit never carries out
        let half = 1usize << (w - 1);
        let mut bases = Vec::with_capacity(windows);
        let mut base = G1Projective::generator();
        for _ in 0..windows {
            bases.push(base);
            for _ in 0..w {
                base.double_in_place();
            }
        }
        let table = bases
            .into_par_iter()
            .map(|b| {
                let mut multiples = Vec::with_capacity(half);
                let mut acc = b;
                for _ in 0..half {
                    multiples.push(acc);
                    acc += b;
                }
                G1Projective::normalize_batch(&multiples)
            })
            .collect();
        FixedBase { w, windows, table }
    }

    fn digits(&self, scalar: &Fr, out: &mut Vec<i32>) {
        let limbs = scalar.into_bigint().0;
        let bit = |k: usize| -> u64 { if k >= 256 { 0 } else { (limbs[k / 64] >> (k % 64)) & 1 } };
        let half = 1i64 << (self.w - 1);
        let mut carry = 0i64;
        for i in 0..self.windows {
            let mut raw = 0i64;
            for b in 0..self.w {
                raw |= (bit(i * self.w + b) as i64) << b;
            }
            let mut d = raw + carry;
            carry = 0;
            if d > half {
                d -= 1i64 << self.w;
                carry = 1;
            }
            out.push(d as i32);
        }
        debug_assert_eq!(carry, 0);
    }

    fn mul_chunk(&self, scalars: &[Fr]) -> Vec<G1Affine> {
        let m = scalars.len();
        let mut digits = Vec::with_capacity(m * self.windows);
        for s in scalars {
            self.digits(s, &mut digits);
        }
        let mut acc = vec![G1Affine::zero(); m];
        let mut addend = vec![G1Affine::zero(); m];
        let mut denom = vec![Fq::one(); m];
        let mut prefix = vec![Fq::one(); m];
        // 0: nothing to add, 1: acc = addend, 2: affine add with denom, 3: projective fallback
        let mut action = vec![0u8; m];
        for i in 0..self.windows {
            for j in 0..m {
                let d = digits[j * self.windows + i];
                action[j] = 0;
                denom[j] = Fq::one();
                if d == 0 {
                    continue;
                }
                let t = self.table[i][(d.unsigned_abs() - 1) as usize];
                addend[j] = if d < 0 { -t } else { t };
                if acc[j].infinity {
                    action[j] = 1;
                } else if acc[j].x == addend[j].x {
                    action[j] = 3;
                } else {
                    action[j] = 2;
                    denom[j] = addend[j].x - acc[j].x;
                }
            }
            // Montgomery's trick: every denominator inverted with one field inversion.
            let mut running = Fq::one();
            for j in 0..m {
                prefix[j] = running;
                running *= denom[j];
            }
            let mut inv = running.inverse().expect("nonzero denominators");
            for j in (0..m).rev() {
                let inv_j = inv * prefix[j];
                inv *= denom[j];
                denom[j] = inv_j;
            }
            for j in 0..m {
                match action[j] {
                    1 => acc[j] = addend[j],
                    2 => {
                        let (p, q) = (acc[j], addend[j]);
                        let lambda = (q.y - p.y) * denom[j];
                        let x3 = lambda.square() - p.x - q.x;
                        let y3 = lambda * (p.x - x3) - p.y;
                        acc[j] = G1Affine::new_unchecked(x3, y3);
                    }
                    3 => acc[j] = (acc[j].into_group() + addend[j]).into_affine(),
                    _ => {}
                }
            }
        }
        acc
    }

    /// [s]G for every s, in parallel chunks (on the current rayon pool).
    pub fn batch_mul(&self, scalars: &[Fr]) -> Vec<G1Affine> {
        scalars.par_chunks(BATCH).flat_map_iter(|chunk| self.mul_chunk(chunk)).collect()
    }
}

fn write_g1_points(writer: &mut impl Write, points: &[G1Affine]) -> SrsResult<()> {
    let mut bytes = vec![0u8; points.len() * G1_POINT_BYTES];
    bytes
        .par_chunks_mut(G1_POINT_BYTES)
        .zip(points.par_iter())
        .for_each(|(out, p)| encode_g1(p, out));
    writer.write_all(&bytes).map_err(|e| format!("writing {G1_FILE}: {e}"))
}

fn write_g2_file(dir: &Path, point: &G2Affine) -> SrsResult<()> {
    std::fs::write(dir.join(G2_FILE), encode_g2(point)).map_err(|e| format!("writing {G2_FILE}: {e}"))
}

/// Write [tau^i]G1 (i < n_points) and [tau]G2 into `dir` (created if missing). The record is the
/// first contribution of the chain (to the trivial SRS, tau = 1): [tau]G1, [tau]G2 and a proof of
/// knowledge of tau bound to `transcript`.
pub fn generate(dir: &Path, n_points: usize, tau: Fr, transcript: &[u8], threads: usize) -> SrsResult<Contribution> {
    if n_points < 2 {
        return Err(format!("an SRS needs at least 2 points, not {n_points}"));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let g2 = (G2Projective::generator() * tau).into_affine();
    with_pool(threads, || -> SrsResult<()> {
        let file = File::create(dir.join(G1_FILE)).map_err(|e| format!("creating {G1_FILE}: {e}"))?;
        let mut writer = BufWriter::with_capacity(1 << 22, file);
        let table = FixedBase::new(n_points);
        let mut start = 0;
        while start < n_points {
            let len = CHUNK.min(n_points - start);
            let points = table.batch_mul(&powers(tau, start, len));
            write_g1_points(&mut writer, &points)?;
            start += len;
        }
        writer.flush().map_err(|e| format!("writing {G1_FILE}: {e}"))
    })??;
    write_g2_file(dir, &g2)?;
    let mut record = prove_knowledge(tau, transcript);
    record.tau_g1 = record.s_g1;
    Ok(record)
}

// -- reading -------------------------------------------------------------------------------------

/// The number of G1 points in `dir` (checking the file sizes).
pub fn count_points(dir: &Path) -> SrsResult<usize> {
    let g1 = dir.join(G1_FILE);
    let size = std::fs::metadata(&g1).map_err(|e| format!("{}: {e}", g1.display()))?.len() as usize;
    if size == 0 || size % G1_POINT_BYTES != 0 {
        return Err(format!("{} has {size} bytes, not a whole number of {G1_POINT_BYTES}-byte points", g1.display()));
    }
    Ok(size / G1_POINT_BYTES)
}

pub fn read_g2(dir: &Path) -> SrsResult<G2Affine> {
    let path = dir.join(G2_FILE);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() != G2_POINT_BYTES {
        return Err(format!("{} has {} bytes, not {G2_POINT_BYTES}", path.display(), bytes.len()));
    }
    decode_g2(&bytes).ok_or_else(|| format!("{}: not a point of the BN254 G2 subgroup", path.display()))
}

/// Points [first, first+len) of the G1 file, decoded and checked (in parallel).
fn read_g1_range(file: &mut File, first: usize, len: usize) -> SrsResult<Vec<G1Affine>> {
    let mut bytes = vec![0u8; len * G1_POINT_BYTES];
    file.seek(SeekFrom::Start((first * G1_POINT_BYTES) as u64))
        .and_then(|_| file.read_exact(&mut bytes))
        .map_err(|e| format!("reading {G1_FILE}: {e}"))?;
    let points: Vec<Option<G1Affine>> = bytes.par_chunks(G1_POINT_BYTES).map(decode_g1).collect();
    points
        .into_iter()
        .enumerate()
        .map(|(i, p)| p.ok_or_else(|| format!("{G1_FILE}: point {} is not a point of BN254 G1", first + i)))
        .collect()
}

// -- verification --------------------------------------------------------------------------------

/// What `verify` found: the number of G1 points and the G2 point's bytes.
pub struct Verified {
    pub n_points: usize,
    pub g2: [u8; G2_POINT_BYTES],
}

/// Check that `dir` holds [tau^i]G1, i < N, and [tau]G2 for one tau (not 0 or 1): Err names the
/// first failure. `min_points`: refuse files with fewer points.
pub fn verify(dir: &Path, min_points: usize, threads: usize) -> SrsResult<Verified> {
    let n = count_points(dir)?;
    if n < min_points.max(2) {
        return Err(format!("the SRS has {n} G1 points, fewer than the {} needed", min_points.max(2)));
    }
    let tau_g2 = read_g2(dir)?;
    if tau_g2.is_zero() || tau_g2 == G2Affine::generator() {
        return Err(format!("{G2_FILE} is [0]G2 or [1]G2: tau is 0 or 1"));
    }
    let g1_path = dir.join(G1_FILE);
    let mut file = File::open(&g1_path).map_err(|e| format!("{}: {e}", g1_path.display()))?;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let mut rng = StdRng::from_seed(seed);

    let (lhs, rhs) = with_pool(threads, || -> SrsResult<(G1Projective, G1Projective)> {
        // lhs = sum r_i [tau^{i+1}]G1, rhs = sum r_i [tau^i]G1, over i < n-1; chunks overlap by one
        // point so that each consecutive pair is covered once.
        let mut lhs = G1Projective::zero();
        let mut rhs = G1Projective::zero();
        let mut first = 0;
        while first + 1 < n {
            let len = (CHUNK + 1).min(n - first);
            let points = read_g1_range(&mut file, first, len)?;
            if first == 0 {
                if points[0] != G1Affine::generator() {
                    return Err(format!("{G1_FILE}: point 0 is not the generator (1, 2)"));
                }
                if points[1] == points[0] {
                    return Err(format!("{G1_FILE}: point 1 equals point 0: tau is 1"));
                }
            }
            let coeffs: Vec<Fr> = (0..len - 1).map(|_| Fr::from(u128::rand(&mut rng))).collect();
            rhs += G1Projective::msm_unchecked(&points[..len - 1], &coeffs);
            lhs += G1Projective::msm_unchecked(&points[1..len], &coeffs);
            first += len - 1;
        }
        Ok((lhs, rhs))
    })??;
    // e(lhs, G2) == e(rhs, tau G2)  <=>  e(lhs, G2) * e(-rhs, tau G2) == 1
    let check = Bn254::multi_pairing([lhs.into_affine(), (-rhs).into_affine()], [G2Affine::generator(), tau_g2]);
    if !check.is_zero() {
        return Err("pairing check failed: the G1 points are not successive powers of the tau in bn254_g2.dat".into());
    }
    Ok(Verified { n_points: n, g2: encode_g2(&tau_g2) })
}

// -- contributions -------------------------------------------------------------------------------

/// The public record of one contribution: [s]G1, [s]G2 and a Schnorr proof (R = [k]G1, z = k + c s)
/// of knowledge of s, c = H(transcript, [s]G1, R), plus the new [tau]G1.
pub struct Contribution {
    pub s_g1: [u8; 64],
    pub s_g2: [u8; G2_POINT_BYTES],
    pub r_g1: [u8; 64],
    pub z: [u8; 32],
    pub tau_g1: [u8; 64],
}

fn encode_g1_array(point: &G1Affine) -> [u8; 64] {
    let mut out = [0u8; 64];
    encode_g1(point, &mut out);
    out
}

fn challenge(transcript: &[u8], s_g1: &[u8; 64], r_g1: &[u8; 64]) -> Fr {
    Fr::from_be_bytes_mod_order(&keccak(&[b"linen-srs-pok", transcript, s_g1, r_g1]))
}

/// Raise `src`'s SRS by a secret s: point i times s^i, [tau]G2 times s, written into `dst`.
pub fn contribute(src: &Path, dst: &Path, s: Fr, transcript: &[u8], threads: usize) -> SrsResult<Contribution> {
    let n = count_points(src)?;
    let old_g2 = read_g2(src)?;
    std::fs::create_dir_all(dst).map_err(|e| format!("cannot create {}: {e}", dst.display()))?;
    let g1_path = src.join(G1_FILE);
    let mut file = File::open(&g1_path).map_err(|e| format!("{}: {e}", g1_path.display()))?;
    let out = File::create(dst.join(G1_FILE)).map_err(|e| format!("creating {G1_FILE}: {e}"))?;
    let mut writer = BufWriter::with_capacity(1 << 22, out);
    let tau_g1 = with_pool(threads, || -> SrsResult<G1Affine> {
        let mut tau_g1 = G1Affine::zero();
        let mut first = 0;
        while first < n {
            let len = CHUNK.min(n - first);
            let points = read_g1_range(&mut file, first, len)?;
            let scalars = powers(s, first, len);
            let raised: Vec<G1Projective> =
                points.par_iter().zip(scalars.par_iter()).map(|(p, k)| *p * k).collect();
            let raised = G1Projective::normalize_batch(&raised);
            if first == 0 {
                tau_g1 = raised[1];
            }
            write_g1_points(&mut writer, &raised)?;
            first += len;
        }
        writer.flush().map_err(|e| format!("writing {G1_FILE}: {e}"))?;
        Ok(tau_g1)
    })??;
    write_g2_file(dst, &(old_g2 * s).into_affine())?;
    let mut record = prove_knowledge(s, transcript);
    record.tau_g1 = encode_g1_array(&tau_g1);
    Ok(record)
}

/// [s]G1, [s]G2 and a Schnorr proof of knowledge of s for `transcript` (tau_g1 left zero).
fn prove_knowledge(s: Fr, transcript: &[u8]) -> Contribution {
    let s_g1 = encode_g1_array(&(G1Affine::generator() * s).into_affine());
    let s_g2 = encode_g2(&(G2Affine::generator() * s).into_affine());
    let mut nonce_seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut nonce_seed);
    let k = scalar_from_seed(b"linen-srs-nonce", &[&nonce_seed[..], &fr_to_be(&s)].concat());
    let r_g1 = encode_g1_array(&(G1Affine::generator() * k).into_affine());
    let c = challenge(transcript, &s_g1, &r_g1);
    let z = fr_to_be(&(k + c * s));
    Contribution { s_g1, s_g2, r_g1, z, tau_g1: [0u8; 64] }
}

/// Check one contribution's proof: the Schnorr proof of s for `transcript`; [s]G1 and [s]G2 hold the
/// same s; the new [tau]G1 is the old one times s; the new [tau]G2 agrees with the new [tau]G1.
/// (That the new powers are consistent with each other is `verify` on the new directory.)
pub fn check_contribution(
    old_tau_g1: &[u8],
    new_tau_g1: &[u8],
    new_tau_g2: &[u8],
    c: &Contribution,
    transcript: &[u8],
) -> SrsResult<()> {
    let g1 = |b: &[u8], what: &str| decode_g1(b).ok_or_else(|| format!("{what} is not a point of BN254 G1"));
    let g2 = |b: &[u8], what: &str| decode_g2(b).ok_or_else(|| format!("{what} is not a point of BN254 G2"));
    let old_tau = g1(old_tau_g1, "the previous [tau]G1")?;
    let new_tau = g1(new_tau_g1, "the new [tau]G1")?;
    let new_tau2 = g2(new_tau_g2, "the new [tau]G2")?;
    let s_g1 = g1(&c.s_g1, "[s]G1")?;
    let s_g2 = g2(&c.s_g2, "[s]G2")?;
    let r_g1 = g1(&c.r_g1, "R")?;
    if s_g1 == G1Affine::generator() {
        return Err("the contribution's secret is 1".into());
    }
    let z = Fr::from_be_bytes_mod_order(&c.z);
    let ch = challenge(transcript, &c.s_g1, &c.r_g1);
    if G1Affine::generator() * z != r_g1.into_group() + s_g1 * ch {
        return Err("the proof of knowledge of the contribution's secret does not hold".into());
    }
    // e(a, b) == e(x, y)
    let pairs_equal = |a: G1Affine, b: G2Affine, x: G1Affine, y: G2Affine| {
        Bn254::multi_pairing([a, (-x.into_group()).into_affine()], [b, y]).is_zero()
    };
    if !pairs_equal(s_g1, G2Affine::generator(), G1Affine::generator(), s_g2) {
        return Err("[s]G1 and [s]G2 do not hold the same secret".into());
    }
    if !pairs_equal(new_tau, G2Affine::generator(), old_tau, s_g2) {
        return Err("the new [tau]G1 is not the previous one raised to the contribution's secret".into());
    }
    if !pairs_equal(new_tau, G2Affine::generator(), G1Affine::generator(), new_tau2) {
        return Err("the new [tau]G2 does not match the new [tau]G1".into());
    }
    Ok(())
}

// -- snarkjs .ptau import ------------------------------------------------------------------------

fn fq_from_mont_le(bytes: &[u8]) -> Option<Fq> {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        *limb = u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().unwrap());
    }
    let mont = BigInt::new(limbs);
    // Fq's internal form is Montgomery with R = 2^256, as ffjavascript's; it must be below p.
    (mont < Fq::MODULUS).then(|| Fq::new_unchecked(mont))
}

/// Import `n_points` G1 powers and [tau]G2 from a snarkjs powers-of-tau file (sections 2 tauG1 and 3
/// tauG2, field elements in Montgomery form, little-endian) into `dst`. Returns the file's power.
pub fn import_ptau(ptau: &Path, dst: &Path, n_points: usize) -> SrsResult<u32> {
    let mut file = File::open(ptau).map_err(|e| format!("{}: {e}", ptau.display()))?;
    let mut head = [0u8; 12];
    file.read_exact(&mut head).map_err(|e| format!("{}: {e}", ptau.display()))?;
    if &head[..4] != b"ptau" {
        return Err(format!("{} is not a snarkjs .ptau file", ptau.display()));
    }
    let n_sections = u32::from_le_bytes(head[8..12].try_into().unwrap());
    let mut sections = std::collections::HashMap::new();
    for _ in 0..n_sections {
        let mut sh = [0u8; 12];
        file.read_exact(&mut sh).map_err(|e| format!("{}: truncated: {e}", ptau.display()))?;
        let id = u32::from_le_bytes(sh[..4].try_into().unwrap());
        let size = u64::from_le_bytes(sh[4..12].try_into().unwrap());
        let pos = file.stream_position().map_err(|e| e.to_string())?;
        sections.insert(id, (pos, size));
        file.seek(SeekFrom::Current(size as i64)).map_err(|e| e.to_string())?;
    }
    let section = |id: u32| sections.get(&id).copied().ok_or_else(|| format!("the .ptau has no section {id}"));
    let (header_pos, _) = section(1)?;
    file.seek(SeekFrom::Start(header_pos)).map_err(|e| e.to_string())?;
    let mut n8 = [0u8; 4];
    file.read_exact(&mut n8).map_err(|e| e.to_string())?;
    if u32::from_le_bytes(n8) != 32 {
        return Err("the .ptau is not over BN254 (field elements are not 32 bytes)".into());
    }
    let mut q = [0u8; 32];
    file.read_exact(&mut q).map_err(|e| e.to_string())?;
    let mut q_be = q;
    q_be.reverse();
    let modulus_be = {
        let mut out = [0u8; 32];
        for (i, limb) in Fq::MODULUS.0.iter().enumerate() {
            out[32 - 8 * (i + 1)..32 - 8 * i].copy_from_slice(&limb.to_be_bytes());
        }
        out
    };
    if q_be != modulus_be {
        return Err("the .ptau is not over BN254 (another base field)".into());
    }
    let mut power = [0u8; 4];
    file.read_exact(&mut power).map_err(|e| e.to_string())?;
    let power = u32::from_le_bytes(power);
    let (g1_pos, g1_size) = section(2)?;
    let available = (g1_size as usize) / G1_POINT_BYTES;
    if n_points > available {
        return Err(format!("the .ptau holds {available} G1 powers (power {power}), fewer than {n_points}"));
    }
    std::fs::create_dir_all(dst).map_err(|e| format!("cannot create {}: {e}", dst.display()))?;
    let out = File::create(dst.join(G1_FILE)).map_err(|e| format!("creating {G1_FILE}: {e}"))?;
    let mut writer = BufWriter::with_capacity(1 << 22, out);
    file.seek(SeekFrom::Start(g1_pos)).map_err(|e| e.to_string())?;
    let mut first = 0;
    while first < n_points {
        let len = CHUNK.min(n_points - first);
        let mut raw = vec![0u8; len * G1_POINT_BYTES];
        file.read_exact(&mut raw).map_err(|e| format!("reading the .ptau: {e}"))?;
        let mut bytes = vec![0u8; raw.len()];
        let bad = raw
            .par_chunks(G1_POINT_BYTES)
            .zip(bytes.par_chunks_mut(G1_POINT_BYTES))
            .enumerate()
            .find_map_any(|(i, (src, out))| {
                let (Some(x), Some(y)) = (fq_from_mont_le(&src[..32]), fq_from_mont_le(&src[32..])) else {
                    return Some(first + i);
                };
                let p = G1Affine::new_unchecked(x, y);
                if !p.is_on_curve() {
                    return Some(first + i);
                }
                encode_g1(&p, out);
                None
            });
        if let Some(i) = bad {
            return Err(format!("the .ptau's G1 power {i} is not a point of BN254 G1"));
        }
        writer.write_all(&bytes).map_err(|e| format!("writing {G1_FILE}: {e}"))?;
        first += len;
    }
    writer.flush().map_err(|e| format!("writing {G1_FILE}: {e}"))?;
    let (g2_pos, g2_size) = section(3)?;
    if g2_size < 2 * G2_POINT_BYTES as u64 {
        return Err("the .ptau's tauG2 section has fewer than 2 points".into());
    }
    file.seek(SeekFrom::Start(g2_pos + G2_POINT_BYTES as u64)).map_err(|e| e.to_string())?;
    let mut raw = [0u8; G2_POINT_BYTES];
    file.read_exact(&mut raw).map_err(|e| e.to_string())?;
    let coords: Option<Vec<Fq>> = raw.chunks(32).map(fq_from_mont_le).collect();
    let c = coords.ok_or("the .ptau's [tau]G2 is not canonical")?;
    let g2 = G2Affine::new_unchecked(Fq2::new(c[0], c[1]), Fq2::new(c[2], c[3]));
    if !(g2.is_on_curve() && g2.is_in_correct_subgroup_assuming_on_curve()) {
        return Err("the .ptau's [tau]G2 is not a point of the BN254 G2 subgroup".into());
    }
    write_g2_file(dst, &g2)?;
    Ok(power)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_points_decode() {
        // bb's pinned second G1 point and G2 point of the canonical setup, in bb's file layout.
        let g1 = hex("2d360628289ff943ff6bd1a87bbe4e62abe7fb61ba83effd266f22bdcf31e6f926b92a79e563c3f48252cce7feeca2f0f8d33dcb4ef7b0643bf07bd405700aaa");
        let g2 = hex("0118c4d5b837bcc2bc89b5b398b5974e9f5944073b32078b7e231fec938883b0260e01b251f6f1c7e7ff4e580791dee8ea51d87a358e038b4efe30fac09383c122febda3c0c0632a56475b4214e5615e11e6dd3f96e6cea2854a87d4dacc5e5504fc6369f7110fe3d25156c1bb9a72859cf2a04641f99ba4ee413c80da6a5fe4");
        let p = decode_g1(&g1).expect("g1");
        let q = decode_g2(&g2).expect("g2");
        // They share one tau: e(tau G1, G2) == e(G1, tau G2).
        assert_eq!(Bn254::pairing(p, G2Affine::generator()), Bn254::pairing(G1Affine::generator(), q));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn fixed_base_matches_plain_multiplication() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut scalars: Vec<Fr> = (0..3000).map(|_| Fr::rand(&mut rng)).collect();
        scalars.extend([Fr::zero(), Fr::one(), Fr::from(2u64), -Fr::one(), -Fr::from(2u64)]);
        scalars.extend((0..40).map(|k| Fr::from(2u64).pow([6 * k as u64])));
        for n in [10, 5000, 100_000] {
            let fb = FixedBase::new(n);
            let got = fb.batch_mul(&scalars);
            for (s, p) in scalars.iter().zip(&got) {
                assert_eq!(*p, (G1Projective::generator() * s).into_affine(), "w={} s={s}", fb.w);
            }
        }
    }

    #[test]
    fn generate_verify_contribute() {
        let dir = std::env::temp_dir().join(format!("linen-srs-test-{}", std::process::id()));
        let tau = scalar_from_seed(b"t", b"seed");
        let first = generate(&dir, 300, tau, b"first", 2).unwrap();
        let g1_gen = encode_g1_array(&G1Affine::generator());
        let g2_bytes = std::fs::read(dir.join(G2_FILE)).unwrap();
        check_contribution(&g1_gen, &first.tau_g1, &g2_bytes, &first, b"first").unwrap();
        assert_eq!(verify(&dir, 300, 2).unwrap().n_points, 300);
        let bytes = std::fs::read(dir.join(G1_FILE)).unwrap();
        let p5 = decode_g1(&bytes[5 * 64..6 * 64]).unwrap();
        assert_eq!(p5, (G1Affine::generator() * tau.pow([5])).into_affine());
        let dst = dir.join("next");
        let s = scalar_from_seed(b"s", b"secret");
        let c = contribute(&dir, &dst, s, b"party", 2).unwrap();
        verify(&dst, 0, 2).unwrap();
        let new_g2 = std::fs::read(dst.join(G2_FILE)).unwrap();
        check_contribution(&bytes[64..128], &c.tau_g1, &new_g2, &c, b"party").unwrap();
        assert!(check_contribution(&bytes[64..128], &c.tau_g1, &new_g2, &c, b"other").is_err());
        // A single wrong point is caught.
        let mut bad = bytes.clone();
        let q = (G1Affine::generator() * Fr::from(7u64)).into_affine();
        encode_g1(&q, &mut bad[100 * 64..101 * 64]);
        std::fs::write(dir.join(G1_FILE), &bad).unwrap();
        assert!(verify(&dir, 0, 2).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

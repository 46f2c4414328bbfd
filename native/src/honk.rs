//! Linen's verifier for bb's zero-knowledge UltraHonk proofs (bb 5.0.0), both transcripts:
//!
//! - `Keccak` (bb `-t evm`): points are two 32-byte words (x, y), challenges are keccak256 of the
//!   round's words mod r, the proof has exactly log_n sumcheck rounds;
//! - `Poseidon2` (bb `-t noir-recursive`): points are four words (x_lo, x_hi, y_lo, y_hi, lo 136
//!   bits), challenges are the Poseidon2 sponge of the round's words, and the proof always has 25
//!   rounds: the circuit's polynomials are extended by zero to 25 variables and every round counts
//!   (measured: the sumcheck, the row-disabling factor and the Libra check only hold over all 25).
//!
//! Checked, in order: sizes and encodings (every word below its modulus, every point on the curve),
//! the sumcheck of the 29 Ultra subrelations with the Libra masking, the Shplemini batch opening
//! with the small-subgroup IPA's consistency equation, then one pairing check against the SRS's
//! [tau]_2 given by the caller (so proofs made under Linen's own setup verify; bb pins Aztec's).
//! Pairing points carried by the proof (an inner recursive verification) are folded into the same
//! pairing check with a hashed separator. Written from the UltraHonk protocol as bb's generated
//! Solidity verifier lays it out for the keccak case.

use ark_bn254::{Bn254, Fq, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{pairing::Pairing, AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{BigInt, BigInteger, Field, One, PrimeField, Zero};
use tiny_keccak::{Hasher, Keccak};

pub const NUM_SUBRELATIONS: usize = 29;
const UNIVARIATE_LEN: usize = 9; // ZK batched relation partial length
const NUM_ENTITIES: usize = 41;
const NUM_ENTITIES_ZK: usize = NUM_ENTITIES + 1; // + the Gemini masking polynomial, first
const NUM_UNSHIFTED_ZK: usize = 37;
const NUM_SHIFTED: usize = 5;
const NUM_PRECOMPUTED: usize = 28;
const PAIRING_POINT_WORDS: usize = 8;
pub const PADDED_LOG_N: usize = 25;
const SUBGROUP_SIZE: usize = 256;
const LIBRA_EVALUATIONS: usize = 4;
const PERMUTATION_SEPARATOR: u64 = 1 << 28;

pub type Word = [u8; 32];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Flavor {
    Keccak,
    Poseidon2,
}

impl Flavor {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "evm" | "keccak" => Some(Flavor::Keccak),
            "noir-recursive" | "poseidon2" => Some(Flavor::Poseidon2),
            _ => None,
        }
    }

    fn point_words(self) -> usize {
        match self {
            Flavor::Keccak => 2,
            Flavor::Poseidon2 => 4,
        }
    }

    /// Sumcheck rounds (variables) of the proof for a circuit of 2^log_n rows.
    fn rounds(self, log_n: usize) -> usize {
        match self {
            Flavor::Keccak => log_n,
            Flavor::Poseidon2 => PADDED_LOG_N,
        }
    }

    fn hash(self, words: &[Word]) -> Fr {
        match self {
            Flavor::Keccak => {
                let mut k = Keccak::v256();
                for w in words {
                    k.update(w);
                }
                let mut out = [0u8; 32];
                k.finalize(&mut out);
                Fr::from_be_bytes_mod_order(&out)
            }
            Flavor::Poseidon2 => {
                // every word was checked below r when it was read (limbs are below 2^136)
                let fields: Vec<Fr> = words.iter().map(|w| Fr::from_be_bytes_mod_order(w)).collect();
                crate::poseidon2::hash(&fields)
            }
        }
    }

    pub fn proof_words(self, log_n: usize) -> usize {
        let rounds = self.rounds(log_n);
        let points = 10 + 2 + (rounds - 1) + 2;
        let fields = PAIRING_POINT_WORDS + 1 + UNIVARIATE_LEN * rounds + NUM_ENTITIES_ZK + 1 + rounds + LIBRA_EVALUATIONS;
        points * self.point_words() + fields
    }
}

pub type VerifyResult<T> = Result<T, String>;

// -- reading words ---------------------------------------------------------------------------------

fn big(word: &Word) -> BigInt<4> {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        let start = 32 - 8 * (i + 1);
        *limb = u64::from_be_bytes(word[start..start + 8].try_into().unwrap());
    }
    BigInt::new(limbs)
}

fn bits_below(word: &Word, bits: usize) -> bool {
    let value = big(word);
    (bits..256).all(|i| !value.get_bit(i))
}

fn fr(word: &Word, what: &str) -> VerifyResult<Fr> {
    Fr::from_bigint(big(word)).ok_or_else(|| format!("{what} is not below the scalar field modulus"))
}

fn fq(value: BigInt<4>, what: &str) -> VerifyResult<Fq> {
    Fq::from_bigint(value).ok_or_else(|| format!("{what} is not below the base field modulus"))
}

fn point(x: Fq, y: Fq, what: &str) -> VerifyResult<G1Affine> {
    if x.is_zero() && y.is_zero() {
        return Ok(G1Affine::identity());
    }
    let p = G1Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(format!("{what} is not a point of BN254 G1"));
    }
    Ok(p) // G1 has cofactor 1: on the curve is in the group
}

/// (lo, hi) limbs, lo below 2^136, joined as lo + hi * 2^136.
fn join_limbs(lo: &Word, hi: &Word, hi_bits: usize, what: &str) -> VerifyResult<BigInt<4>> {
    if !bits_below(lo, 136) || !bits_below(hi, hi_bits) {
        return Err(format!("{what}: a limb is out of range"));
    }
    let mut value = big(hi);
    value <<= 136u32;
    let lo = big(lo);
    let mut out = [0u64; 4];
    let mut carry = 0u128;
    for i in 0..4 {
        let s = value.0[i] as u128 + lo.0[i] as u128 + carry;
        out[i] = s as u64;
        carry = s >> 64;
    }
    Ok(BigInt::new(out))
}

struct Reader<'a> {
    words: &'a [Word],
    at: usize,
    flavor: Flavor,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [Word] {
        let out = &self.words[self.at..self.at + n];
        self.at += n;
        out
    }

    fn field(&mut self, what: &str) -> VerifyResult<Fr> {
        let w = self.take(1);
        fr(&w[0], what)
    }

    fn fields(&mut self, n: usize, what: &str) -> VerifyResult<Vec<Fr>> {
        (0..n).map(|_| self.field(what)).collect()
    }

    fn point(&mut self, what: &str) -> VerifyResult<G1Affine> {
        let w = self.take(self.flavor.point_words());
        decode_point(self.flavor, w, what)
    }
}

fn decode_point(flavor: Flavor, w: &[Word], what: &str) -> VerifyResult<G1Affine> {
    match flavor {
        Flavor::Keccak => point(fq(big(&w[0]), what)?, fq(big(&w[1]), what)?, what),
        Flavor::Poseidon2 => {
            let x = fq(join_limbs(&w[0], &w[1], 118, what)?, what)?;
            let y = fq(join_limbs(&w[2], &w[3], 118, what)?, what)?;
            point(x, y, what)
        }
    }
}

pub fn to_words(data: &[u8], what: &str) -> VerifyResult<Vec<Word>> {
    if data.len() % 32 != 0 {
        return Err(format!("{what} is {} bytes, not whole 32-byte words", data.len()));
    }
    Ok(data.chunks(32).map(|c| c.try_into().unwrap()).collect())
}

// -- the verification key --------------------------------------------------------------------------

pub struct VerificationKey {
    pub log_n: usize,
    pub num_public_inputs: usize,
    pub pub_inputs_offset: u64,
    /// In bb's entity order: sigma 1-4, id 1-4, lagrange first/last, q_lookup, table 1-4, q_m, q_r,
    /// q_o, q_c, q_l, q_4, q_arith, q_range, q_elliptic, q_memory, q_nnf, q_poseidon2 ext/int.
    pub commitments: Vec<G1Affine>,
    pub hash: Fr,
}

impl VerificationKey {
    pub fn parse(flavor: Flavor, data: &[u8]) -> VerifyResult<Self> {
        let words = to_words(data, "the vk")?;
        let expected = 3 + NUM_PRECOMPUTED * flavor.point_words();
        if words.len() != expected {
            return Err(format!("the vk is {} words, a {flavor:?} vk has {expected}", words.len()));
        }
        let small = |w: &Word, what: &str| -> VerifyResult<u64> {
            if !bits_below(w, 32) {
                return Err(format!("the vk's {what} is out of range"));
            }
            Ok(big(w).0[0])
        };
        let log_n = small(&words[0], "log circuit size")? as usize;
        if !(1..=PADDED_LOG_N).contains(&log_n) {
            return Err(format!("the vk's log circuit size {log_n} is out of range"));
        }
        let num_public_inputs = small(&words[1], "public input count")? as usize;
        if num_public_inputs < PAIRING_POINT_WORDS {
            return Err("the vk has fewer public inputs than the pairing points".into());
        }
        let pub_inputs_offset = small(&words[2], "public input offset")?;
        let mut reader = Reader { words: &words, at: 3, flavor };
        let commitments = (0..NUM_PRECOMPUTED).map(|i| reader.point(&format!("vk commitment {i}"))).collect::<Result<_, _>>()?;
        // keccak256 of the vk's bytes mod r (the Solidity verifier's VK_HASH), or the Poseidon2
        // sponge of its fields (bb's vk_hash file)
        let hash = flavor.hash(&words);
        Ok(VerificationKey { log_n, num_public_inputs, pub_inputs_offset, commitments, hash })
    }
}

// -- the proof -------------------------------------------------------------------------------------

struct Proof {
    pairing_words: Vec<Word>,
    pairing_limbs: Vec<Fr>,
    gemini_mask: G1Affine,
    w1: G1Affine,
    w2: G1Affine,
    w3: G1Affine,
    w4: G1Affine,
    read_counts: G1Affine,
    read_tags: G1Affine,
    lookup_inverses: G1Affine,
    z_perm: G1Affine,
    libra: [G1Affine; 3],
    libra_sum: Fr,
    univariates: Vec<[Fr; UNIVARIATE_LEN]>,
    evaluations: Vec<Fr>,
    libra_evaluation: Fr,
    folds: Vec<G1Affine>,
    a_evaluations: Vec<Fr>,
    libra_poly_evals: Vec<Fr>,
    shplonk_q: G1Affine,
    kzg_w: G1Affine,
}

/// The challenges, drawn from the proof's words in the order the prover sent them.
struct Challenges {
    eta: Fr,
    beta: Fr,
    gamma: Fr,
    alphas: Vec<Fr>,
    gates: Vec<Fr>,
    libra: Fr,
    u: Vec<Fr>,
    rho: Fr,
    r: Fr,
    nu: Fr,
    z: Fr,
}

struct Transcript {
    flavor: Flavor,
    previous: Option<Word>,
}

impl Transcript {
    fn challenge(&mut self, round: &[Word]) -> Fr {
        let mut buffer = Vec::with_capacity(round.len() + 1);
        buffer.extend(self.previous);
        buffer.extend_from_slice(round);
        let c = self.flavor.hash(&buffer);
        self.previous = Some(crate::field_to_word(c));
        c
    }
}

/// A challenge's two 127-bit halves (lo, hi), as bb splits one hash into two challenges.
fn split(c: Fr) -> (Fr, Fr) {
    let v = c.into_bigint();
    let mut lo = v;
    lo.0[1] &= 0x7fff_ffff_ffff_ffff;
    lo.0[2] = 0;
    lo.0[3] = 0;
    let mut hi = v;
    hi >>= 127u32;
    (Fr::from_bigint(lo).unwrap(), Fr::from_bigint(hi).unwrap())
}

fn parse_proof(flavor: Flavor, words: &[Word], rounds: usize) -> VerifyResult<Proof> {
    let mut r = Reader { words, at: 0, flavor };
    let pairing_words = r.take(PAIRING_POINT_WORDS).to_vec();
    for (i, w) in pairing_words.iter().enumerate() {
        if !bits_below(w, if i % 2 == 0 { 136 } else { 120 }) {
            return Err(format!("pairing point limb {i} is out of range"));
        }
    }
    let pairing_limbs = pairing_words.iter().map(|w| fr(w, "a pairing limb")).collect::<Result<_, _>>()?;
    let gemini_mask = r.point("the Gemini masking commitment")?;
    let w1 = r.point("w1")?;
    let w2 = r.point("w2")?;
    let w3 = r.point("w3")?;
    let read_counts = r.point("the lookup read counts")?;
    let read_tags = r.point("the lookup read tags")?;
    let w4 = r.point("w4")?;
    let lookup_inverses = r.point("the lookup inverses")?;
    let z_perm = r.point("z_perm")?;
    let libra0 = r.point("the Libra concatenation")?;
    let libra_sum = r.field("the Libra sum")?;
    let mut univariates = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let v = r.fields(UNIVARIATE_LEN, "a sumcheck univariate")?;
        univariates.push(v.try_into().unwrap());
    }
    let evaluations = r.fields(NUM_ENTITIES_ZK, "a sumcheck evaluation")?;
    let libra_evaluation = r.field("the Libra evaluation")?;
    let libra1 = r.point("the Libra grand sum")?;
    let libra2 = r.point("the Libra quotient")?;
    let folds = (0..rounds - 1).map(|_| r.point("a Gemini fold")).collect::<Result<_, _>>()?;
    let a_evaluations = r.fields(rounds, "a Gemini evaluation")?;
    let libra_poly_evals = r.fields(LIBRA_EVALUATIONS, "a Libra polynomial evaluation")?;
    let shplonk_q = r.point("the Shplonk quotient")?;
    let kzg_w = r.point("the KZG quotient")?;
    debug_assert_eq!(r.at, words.len());
    Ok(Proof {
        pairing_words, pairing_limbs, gemini_mask, w1, w2, w3, w4, read_counts, read_tags, lookup_inverses, z_perm,
        libra: [libra0, libra1, libra2], libra_sum, univariates, evaluations, libra_evaluation, folds, a_evaluations,
        libra_poly_evals, shplonk_q, kzg_w,
    })
}

fn challenges(flavor: Flavor, vk: &VerificationKey, public: &[Word], words: &[Word], rounds: usize) -> Challenges {
    let pw = flavor.point_words();
    let mut t = Transcript { flavor, previous: None };
    // The words in proof order: pairing (8), mask, w1, w2, w3 | counts, tags, w4 | inverses, z_perm | libra0, sum | ...
    let mut at = 0;
    let mut next = |n: usize| {
        let s = &words[at..at + n];
        at += n;
        s
    };
    let mut round0 = vec![crate::field_to_word(vk.hash)];
    round0.extend_from_slice(public);
    round0.extend_from_slice(next(PAIRING_POINT_WORDS + 4 * pw));
    let (eta, _) = split(t.challenge(&round0));
    let (beta, gamma) = split(t.challenge(next(3 * pw)));
    let (alpha, _) = split(t.challenge(next(2 * pw)));
    let mut alphas = vec![alpha];
    for i in 1..NUM_SUBRELATIONS - 1 {
        alphas.push(alphas[i - 1] * alpha);
    }
    let (gate, _) = split(t.challenge(&[]));
    let mut gates = vec![gate];
    for i in 1..rounds {
        gates.push(gates[i - 1].square());
    }
    let (libra, _) = split(t.challenge(next(pw + 1)));
    let u = (0..rounds).map(|_| split(t.challenge(next(UNIVARIATE_LEN))).0).collect();
    let (rho, _) = split(t.challenge(next(NUM_ENTITIES_ZK + 1 + 2 * pw)));
    let (r, _) = split(t.challenge(next((rounds - 1) * pw)));
    let (nu, _) = split(t.challenge(next(rounds + LIBRA_EVALUATIONS)));
    let (z, _) = split(t.challenge(next(pw)));
    Challenges { eta, beta, gamma, alphas, gates, libra, u, rho, r, nu, z }
}

// -- sumcheck --------------------------------------------------------------------------------------

// Entity indices in the sumcheck evaluations (after the masking polynomial).
const SIGMA_1: usize = 0;
const ID_1: usize = 4;
const LAGRANGE_FIRST: usize = 8;
const LAGRANGE_LAST: usize = 9;
const Q_LOOKUP: usize = 10;
const TABLE_1: usize = 11;
const Q_M: usize = 15;
const Q_R: usize = 16;
const Q_O: usize = 17;
const Q_C: usize = 18;
const Q_L: usize = 19;
const Q_4: usize = 20;
const Q_ARITH: usize = 21;
const Q_RANGE: usize = 22;
const Q_ELLIPTIC: usize = 23;
const Q_MEMORY: usize = 24;
const Q_NNF: usize = 25;
const Q_POS_EXT: usize = 26;
const Q_POS_INT: usize = 27;
const W_L: usize = 28;
const W_R: usize = 29;
const W_O: usize = 30;
const W_4: usize = 31;
const Z_PERM: usize = 32;
const LOOKUP_INVERSES: usize = 33;
const LOOKUP_READ_COUNTS: usize = 34;
const LOOKUP_READ_TAGS: usize = 35;
const W_L_SHIFT: usize = 36;
const W_R_SHIFT: usize = 37;
const W_O_SHIFT: usize = 38;
const W_4_SHIFT: usize = 39;
const Z_PERM_SHIFT: usize = 40;

fn f(v: u64) -> Fr {
    Fr::from(v)
}

fn hex_fr(s: &str) -> Fr {
    let bytes: Vec<u8> = (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect();
    Fr::from_be_bytes_mod_order(&bytes)
}

struct RelationParameters {
    eta: Fr,
    beta: Fr,
    gamma: Fr,
    public_inputs_delta: Fr,
}

/// The 29 subrelations of UltraHonk at the sumcheck point, each scaled by the gate separator's value.
fn subrelations(p: &[Fr], rp: &RelationParameters, sep: Fr) -> [Fr; NUM_SUBRELATIONS] {
    let mut e = [Fr::zero(); NUM_SUBRELATIONS];
    let one = Fr::one();
    // permutation (0, 1, 2)
    {
        let (b, g) = (rp.beta, rp.gamma);
        let mut num = one;
        let mut den = one;
        for i in 0..4 {
            num *= p[W_L + i] + p[ID_1 + i] * b + g;
            den *= p[W_L + i] + p[SIGMA_1 + i] * b + g;
        }
        e[0] = ((p[Z_PERM] + p[LAGRANGE_FIRST]) * num - (p[Z_PERM_SHIFT] + p[LAGRANGE_LAST] * rp.public_inputs_delta) * den) * sep;
        e[1] = p[LAGRANGE_LAST] * p[Z_PERM_SHIFT] * sep;
        e[2] = p[LAGRANGE_FIRST] * p[Z_PERM] * sep;
    }
    // log-derivative lookup (3, 4, 5)
    {
        let (b, g) = (rp.beta, rp.gamma);
        let b2 = b * b;
        let b3 = b2 * b;
        let table = p[TABLE_1] + g + p[TABLE_1 + 1] * b + p[TABLE_1 + 2] * b2 + p[TABLE_1 + 3] * b3;
        let d1 = p[W_L] + g + p[Q_R] * p[W_L_SHIFT];
        let d2 = p[W_R] + p[Q_M] * p[W_R_SHIFT];
        let d3 = p[W_O] + p[Q_C] * p[W_O_SHIFT];
        let lookup = d1 + d2 * b + d3 * b2 + p[Q_O] * b3;
        let inv = p[LOOKUP_INVERSES];
        let tags = p[LOOKUP_READ_TAGS];
        let exists = tags + p[Q_LOOKUP] - tags * p[Q_LOOKUP];
        e[3] = (lookup * table * inv - exists) * sep;
        e[4] = p[Q_LOOKUP] * (inv * table) - p[LOOKUP_READ_COUNTS] * (inv * lookup);
        e[5] = (tags * tags - tags) * sep;
    }
    // arithmetic (6, 7)
    {
        let q = p[Q_ARITH];
        let neg_half = -Fr::from(2u64).inverse().unwrap();
        let mut acc = (q - f(3)) * (p[Q_M] * p[W_R] * p[W_L]) * neg_half;
        acc += p[Q_L] * p[W_L] + p[Q_R] * p[W_R] + p[Q_O] * p[W_O] + p[Q_4] * p[W_4] + p[Q_C];
        acc += (q - one) * p[W_4_SHIFT];
        e[6] = acc * q * sep;
        e[7] = (p[W_L] + p[W_4] - p[W_L_SHIFT] + p[Q_M]) * (q - f(2)) * (q - one) * q * sep;
    }
    // delta range (8..11)
    {
        let deltas = [p[W_R] - p[W_L], p[W_O] - p[W_R], p[W_4] - p[W_O], p[W_L_SHIFT] - p[W_4]];
        for (i, d) in deltas.iter().enumerate() {
            e[8 + i] = *d * (*d - one) * (*d - f(2)) * (*d - f(3)) * p[Q_RANGE] * sep;
        }
    }
    // elliptic (12, 13), on Grumpkin (y^2 = x^3 - 17)
    {
        let (x1, y1, x2, y2, y3, x3) = (p[W_R], p[W_O], p[W_L_SHIFT], p[W_4_SHIFT], p[W_O_SHIFT], p[W_R_SHIFT]);
        let q_sign = p[Q_L];
        let q_double = p[Q_M];
        let q_ell = p[Q_ELLIPTIC];
        let x_diff = x2 - x1;
        let y1_sqr = y1 * y1;
        let y1y2 = y1 * y2 * q_sign;
        let x_add = (x3 + x2 + x1) * x_diff * x_diff - y2 * y2 - y1_sqr + y1y2 + y1y2;
        e[12] = x_add * sep * q_ell * (one - q_double);
        let y_add = (y1 + y3) * x_diff + (x3 - x1) * (y2 * q_sign - y1);
        e[13] = y_add * sep * q_ell * (one - q_double);
        let x_pow_4 = (y1_sqr + f(17)) * x1;
        let x_double = (x3 + x1 + x1) * (y1_sqr * f(4)) - x_pow_4 * f(9);
        e[12] += x_double * sep * q_ell * q_double;
        let y_double = (x1 + x1 + x1) * x1 * (x1 - x3) - (y1 + y1) * (y1 + y3);
        e[13] += y_double * sep * q_ell * q_double;
    }
    // memory (14..19)
    {
        let eta = rp.eta;
        let eta2 = eta * eta;
        let eta3 = eta2 * eta;
        let partial_record = p[W_O] * eta3 + p[W_R] * eta2 + p[W_L] * eta + p[Q_C];
        let record_check = partial_record - p[W_4];
        let index_delta = p[W_L_SHIFT] - p[W_L];
        let record_delta = p[W_4_SHIFT] - p[W_4];
        let monotone = index_delta * (index_delta - one);
        let same_index = one - index_delta;
        let adjacent_match = same_index * record_delta;
        let qm_sep = p[Q_MEMORY] * sep;
        e[15] = adjacent_match * (p[Q_L] * p[Q_R]) * qm_sep;
        e[16] = monotone * (p[Q_L] * p[Q_R]) * qm_sep;
        let rom = record_check * (p[Q_L] * p[Q_R]);
        let access = p[W_4] - partial_record;
        let access_check = access * (access - one);
        let next_access = p[W_4_SHIFT] - (p[W_O_SHIFT] * eta3 + p[W_R_SHIFT] * eta2 + p[W_L_SHIFT] * eta);
        let value_delta = p[W_O_SHIFT] - p[W_O];
        let read_match = same_index * value_delta * (one - next_access);
        let next_bool = next_access * next_access - next_access;
        e[17] = read_match * p[Q_O] * qm_sep;
        e[18] = monotone * p[Q_O] * qm_sep;
        e[19] = next_bool * p[Q_O] * qm_sep;
        let ram = access_check * p[Q_O];
        let timestamp = same_index * (p[W_R_SHIFT] - p[W_R]) - p[W_O];
        let memory = rom + timestamp * (p[Q_4] * p[Q_L]) + record_check * (p[Q_M] * p[Q_L]) + ram;
        e[14] = memory * qm_sep;
    }
    // non-native field (20)
    {
        let limb = Fr::from(1u128 << 68);
        let sub = f(1 << 14);
        let mut subproduct = p[W_L] * p[W_R_SHIFT] + p[W_L_SHIFT] * p[W_R];
        let gate2 = ((p[W_L] * p[W_4] + p[W_R] * p[W_O] - p[W_O_SHIFT]) * limb - p[W_4_SHIFT] + subproduct) * p[Q_4];
        subproduct = subproduct * limb + p[W_L_SHIFT] * p[W_R_SHIFT];
        let gate1 = (subproduct - (p[W_O] + p[W_4])) * p[Q_O];
        let gate3 = (subproduct + p[W_4] - (p[W_O_SHIFT] + p[W_4_SHIFT])) * p[Q_M];
        let nnf = (gate1 + gate2 + gate3) * p[Q_R];
        let acc1 = ((((p[W_R_SHIFT] * sub + p[W_L_SHIFT]) * sub + p[W_O]) * sub + p[W_R]) * sub + p[W_L] - p[W_4]) * p[Q_4];
        let acc2 = ((((p[W_O_SHIFT] * sub + p[W_R_SHIFT]) * sub + p[W_L_SHIFT]) * sub + p[W_4]) * sub + p[W_O]
            - p[W_4_SHIFT])
            * p[Q_M];
        let limbs = (acc1 + acc2) * p[Q_O];
        e[20] = (nnf + limbs) * (p[Q_NNF] * sep);
    }
    // Poseidon2 external round (21..24)
    {
        let s: Vec<Fr> = (0..4).map(|i| p[W_L + i] + p[[Q_L, Q_R, Q_O, Q_4][i]]).collect();
        let u: Vec<Fr> = s.iter().map(|x| x.square().square() * x).collect();
        let t0 = u[0] + u[1];
        let t1 = u[2] + u[3];
        let t2 = u[1] + u[1] + t1;
        let t3 = u[3] + u[3] + t0;
        let v4 = t1 * f(4) + t3;
        let v2 = t0 * f(4) + t2;
        let v1 = t3 + v2;
        let v3 = t2 + v4;
        let q = p[Q_POS_EXT] * sep;
        for (i, v) in [v1, v2, v3, v4].iter().enumerate() {
            e[21 + i] = q * (*v - p[W_L_SHIFT + i]);
        }
    }
    // Poseidon2 internal round (25..28)
    {
        let diagonal = [
            hex_fr("10dc6e9c006ea38b04b1e03b4bd9490c0d03f98929ca1d7fb56821fd19d3b6e7"),
            hex_fr("0c28145b6a44df3e0149b3d0a30b3bb599df9756d4dd9b84a86b38cfb45a740b"),
            hex_fr("00544b8338791518b2c7645a50392798b21f75bb60e3596170067d00141cac15"),
            hex_fr("222c01175718386f2e2e82eb122789e352e105a3b8fa852613bc534433ee428b"),
        ];
        let s1 = p[W_L] + p[Q_L];
        let u = [s1.square().square() * s1, p[W_R], p[W_O], p[W_4]];
        let sum = u[0] + u[1] + u[2] + u[3];
        let q = p[Q_POS_INT] * sep;
        for i in 0..4 {
            e[25 + i] = q * (u[i] * diagonal[i] + sum - p[W_L_SHIFT + i]);
        }
    }
    e
}

/// The univariate given by its values at 0..8, evaluated at x (barycentric form).
fn evaluate_univariate(values: &[Fr; UNIVARIATE_LEN], x: Fr) -> VerifyResult<Fr> {
    let mut total = Fr::zero();
    let mut numerator = Fr::one();
    for i in 0..UNIVARIATE_LEN {
        numerator *= x - f(i as u64);
    }
    for (i, v) in values.iter().enumerate() {
        let mut d = Fr::one();
        for j in 0..UNIVARIATE_LEN {
            if j != i {
                d *= f(i as u64) - f(j as u64);
            }
        }
        let inv = (d * (x - f(i as u64))).inverse().ok_or("a sumcheck challenge fell on the domain")?;
        total += *v * inv;
    }
    Ok(total * numerator)
}

fn public_inputs_delta(vk: &VerificationKey, public: &[Fr], beta: Fr, gamma: Fr) -> VerifyResult<Fr> {
    let offset = vk.pub_inputs_offset;
    let mut numerator = Fr::one();
    let mut denominator = Fr::one();
    let mut num_acc = gamma + beta * f(PERMUTATION_SEPARATOR + offset);
    let mut den_acc = gamma - beta * f(offset + 1);
    for x in public {
        numerator *= num_acc + x;
        denominator *= den_acc + x;
        num_acc += beta;
        den_acc -= beta;
    }
    Ok(numerator * denominator.inverse().ok_or("the public input delta's denominator is zero")?)
}

fn check_sumcheck(proof: &Proof, ch: &Challenges, rp: &RelationParameters, log_n: usize) -> VerifyResult<()> {
    let mut target = ch.libra * proof.libra_sum;
    let mut pow = Fr::one();
    for round in 0..log_n {
        let u = &proof.univariates[round];
        if u[0] + u[1] != target {
            return Err(format!("sumcheck fails at round {round}"));
        }
        target = evaluate_univariate(u, ch.u[round])?;
        pow *= Fr::one() + ch.u[round] * (ch.gates[round] - Fr::one());
    }
    let e = subrelations(&proof.evaluations[1..], rp, pow);
    let mut relation = e[0];
    for i in 1..NUM_SUBRELATIONS {
        relation += e[i] * ch.alphas[i - 1];
    }
    let mut disabled = Fr::one();
    for i in 2..log_n {
        disabled *= Fr::one() - ch.u[i];
    }
    let total = relation * (Fr::one() - disabled) + proof.libra_evaluation * ch.libra;
    if total != target {
        return Err("sumcheck: the relations at the final point do not match the last round".into());
    }
    Ok(())
}

// -- Shplemini and the small-subgroup IPA ----------------------------------------------------------

fn subgroup_generator() -> Fr {
    hex_fr("07b0c561a6148404f086204a9f36ffb0617942546750f230c893619174a57a76")
}

fn check_libra_consistency(proof: &Proof, ch: &Challenges, log_n: usize) -> VerifyResult<()> {
    let r = ch.r;
    let vanishing = r.pow([SUBGROUP_SIZE as u64]) - Fr::one();
    if vanishing.is_zero() {
        return Err("the Gemini challenge lies in the Libra subgroup".into());
    }
    let mut lagrange = vec![Fr::zero(); SUBGROUP_SIZE];
    lagrange[0] = Fr::one();
    for round in 0..log_n {
        let at = 1 + UNIVARIATE_LEN * round;
        lagrange[at] = Fr::one();
        for i in at + 1..at + UNIVARIATE_LEN {
            lagrange[i] = lagrange[i - 1] * ch.u[round];
        }
    }
    let g_inv = subgroup_generator().inverse().unwrap();
    let mut denominators: Vec<Fr> = Vec::with_capacity(SUBGROUP_SIZE);
    let mut root = Fr::one();
    for _ in 0..SUBGROUP_SIZE {
        denominators.push(root * r - Fr::one());
        root *= g_inv;
    }
    ark_ff::batch_inversion(&mut denominators);
    if denominators.iter().any(|d| d.is_zero()) {
        return Err("the Gemini challenge lies in the Libra subgroup".into());
    }
    let numerator = vanishing * f(SUBGROUP_SIZE as u64).inverse().unwrap();
    let challenge_eval = lagrange.iter().zip(&denominators).map(|(a, b)| *a * b).sum::<Fr>() * numerator;
    let first = denominators[0] * numerator;
    let last = denominators[SUBGROUP_SIZE - 1] * numerator;
    let e = &proof.libra_poly_evals;
    let diff = first * e[2] + (r - g_inv) * (e[1] - e[2] - e[0] * challenge_eval) + last * (e[2] - proof.libra_evaluation)
        - vanishing * e[3];
    if !diff.is_zero() {
        return Err("the Libra evaluations are inconsistent (small-subgroup IPA)".into());
    }
    Ok(())
}

fn inv(x: Fr, what: &str) -> VerifyResult<Fr> {
    x.inverse().ok_or_else(|| format!("{what} is zero"))
}

/// The two points whose pairing must vanish: (P0, P1) with e(P0, [1]_2) e(P1, [tau]_2) = 1.
fn shplemini(proof: &Proof, vk: &VerificationKey, ch: &Challenges, log_n: usize) -> VerifyResult<(G1Projective, G1Projective)> {
    let (r, z, nu, rho) = (ch.r, ch.z, ch.nu, ch.rho);
    let mut powers = vec![r];
    for i in 1..log_n {
        powers.push(powers[i - 1].square());
    }
    let pos0 = inv(z - r, "z - r")?;
    let neg0 = inv(z + r, "z + r")?;
    let unshifted = pos0 + nu * neg0;
    let shifted = inv(r, "r")? * (pos0 - nu * neg0);

    let mut bases: Vec<G1Affine> = vec![proof.shplonk_q, proof.gemini_mask];
    bases.extend_from_slice(&vk.commitments);
    bases.extend_from_slice(&[proof.w1, proof.w2, proof.w3, proof.w4, proof.z_perm, proof.lookup_inverses,
                              proof.read_counts, proof.read_tags]);
    let mut scalars: Vec<Fr> = vec![Fr::one()];
    let mut batching = Fr::one();
    let mut batched_eval = Fr::zero();
    for i in 0..NUM_UNSHIFTED_ZK {
        scalars.push(-unshifted * batching);
        batched_eval += proof.evaluations[i] * batching;
        batching *= rho;
    }
    for i in 0..NUM_SHIFTED {
        scalars[1 + 1 + NUM_PRECOMPUTED + i] -= shifted * batching; // w1..w4, z_perm
        batched_eval += proof.evaluations[NUM_UNSHIFTED_ZK + i] * batching;
        batching *= rho;
    }

    // A_l(r^{2^l}) from A_l(-r^{2^l}), from the last fold down
    let mut fold_pos = vec![Fr::zero(); log_n];
    let mut acc = batched_eval;
    for l in (0..log_n).rev() {
        let (power, u) = (powers[l], ch.u[l]);
        let num = power * acc * f(2) - proof.a_evaluations[l] * (power * (Fr::one() - u) - u);
        acc = num * inv(power * (Fr::one() - u) + u, "a Gemini denominator")?;
        fold_pos[l] = acc;
    }
    let mut constant = fold_pos[0] * pos0 + proof.a_evaluations[0] * nu * neg0;
    let mut batching = nu.square();
    for i in 0..log_n - 1 {
        let pos = inv(z - powers[i + 1], "z - r^2^l")?;
        let neg = inv(z + powers[i + 1], "z + r^2^l")?;
        let sp = batching * pos;
        let sn = batching * nu * neg;
        constant += sn * proof.a_evaluations[i + 1] + sp * fold_pos[i + 1];
        batching *= nu.square();
        bases.push(proof.folds[i]);
        scalars.push(-(sp + sn));
    }

    // Libra: openings at r, g*r, r, 1 (claimed 0) and r
    let d0 = inv(z - r, "z - r")?;
    let denominators = [d0, inv(z - subgroup_generator() * r, "z - g r")?, d0, inv(z - Fr::one(), "z - 1")?, d0];
    let claimed = [Some(proof.libra_poly_evals[0]), Some(proof.libra_poly_evals[1]), Some(proof.libra_poly_evals[2]),
                   None, Some(proof.libra_poly_evals[3])];
    let mut libra_scalars = [Fr::zero(); 5];
    for i in 0..5 {
        let s = denominators[i] * batching;
        libra_scalars[i] = -s;
        batching *= nu;
        if let Some(v) = claimed[i] {
            constant += s * v;
        }
    }
    bases.extend_from_slice(&proof.libra);
    scalars.extend_from_slice(&[libra_scalars[0], libra_scalars[1] + libra_scalars[2] + libra_scalars[3], libra_scalars[4]]);
    bases.push(G1Affine::generator());
    scalars.push(constant);
    bases.push(proof.kzg_w);
    scalars.push(z);
    let p0 = G1Projective::msm(&bases, &scalars).map_err(|_| "MSM size mismatch".to_string())?;
    Ok((p0, -proof.kzg_w.into_group()))
}

fn pairing_points(proof: &Proof) -> VerifyResult<Option<(G1Affine, G1Affine)>> {
    if proof.pairing_limbs.iter().all(|x| x.is_zero()) {
        return Ok(None); // no inner recursive verification
    }
    let w = &proof.pairing_words;
    let coord = |i: usize, what: &str| -> VerifyResult<Fq> { fq(join_limbs(&w[i], &w[i + 1], 120, what)?, what) };
    let p0 = point(coord(0, "pairing point 0")?, coord(2, "pairing point 0")?, "pairing point 0")?;
    let p1 = point(coord(4, "pairing point 1")?, coord(6, "pairing point 1")?, "pairing point 1")?;
    if p0.is_zero() || p1.is_zero() {
        return Err("a pairing point is the point at infinity".into());
    }
    Ok(Some((p0, p1)))
}

fn fq_word(x: Fq) -> Word {
    let limbs = x.into_bigint().0;
    let mut out = [0u8; 32];
    for (i, limb) in limbs.iter().enumerate() {
        out[32 - 8 * (i + 1)..32 - 8 * i].copy_from_slice(&limb.to_be_bytes());
    }
    out
}

fn xy(p: &G1Affine) -> [Word; 2] {
    match p.xy() {
        Some((x, y)) => [fq_word(x), fq_word(y)],
        None => [[0u8; 32], [0u8; 32]],
    }
}

/// Verify a proof; Ok(()) if it holds, Err(reason) if not.
pub fn verify(flavor: Flavor, vk: &VerificationKey, proof_bytes: &[u8], public_bytes: &[u8], tau_g2: &G2Affine) -> VerifyResult<()> {
    let words = to_words(proof_bytes, "the proof")?;
    let public_words = to_words(public_bytes, "the public inputs")?;
    // A padded (noir-recursive) proof is a sumcheck over all 25 variables, the circuit's
    // polynomials extended by zero: every round is a real round.
    let rounds = flavor.rounds(vk.log_n);
    let expected = flavor.proof_words(vk.log_n);
    if words.len() != expected {
        return Err(format!("the proof is {} words, this vk's proofs are {expected}", words.len()));
    }
    if public_words.len() + PAIRING_POINT_WORDS != vk.num_public_inputs {
        return Err(format!("{} public inputs, the vk takes {}", public_words.len(), vk.num_public_inputs - PAIRING_POINT_WORDS));
    }
    let mut public: Vec<Fr> = public_words.iter().map(|w| fr(w, "a public input")).collect::<Result<_, _>>()?;
    let proof = parse_proof(flavor, &words, rounds)?;
    let ch = challenges(flavor, vk, &public_words, &words, rounds);
    public.extend_from_slice(&proof.pairing_limbs);
    let rp = RelationParameters {
        eta: ch.eta, beta: ch.beta, gamma: ch.gamma,
        public_inputs_delta: public_inputs_delta(vk, &public, ch.beta, ch.gamma)?,
    };
    check_sumcheck(&proof, &ch, &rp, rounds)?;
    let (mut p0, mut p1) = shplemini(&proof, vk, &ch, rounds)?;
    check_libra_consistency(&proof, &ch, rounds)?;
    if let Some((q0, q1)) = pairing_points(&proof)? {
        // fold the proof's own pairing points in: P = sep * P_shplemini + P_proof
        let (a0, a1) = (p0.into_affine(), p1.into_affine());
        let mut round: Vec<Word> = Vec::new();
        for p in [&q0, &q1, &a0, &a1] {
            round.extend_from_slice(&xy(p));
        }
        let sep = Flavor::Keccak.hash(&round);
        p0 = p0 * sep + q0;
        p1 = p1 * sep + q1;
    }
    let out = Bn254::multi_pairing([p0.into_affine(), p1.into_affine()], [G2Affine::generator(), *tau_g2]);
    if !out.0.is_one() {
        return Err("the pairing check fails".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_bb() {
        assert_eq!(Flavor::Keccak.proof_words(5) * 32, 4544);
        assert_eq!(Flavor::Poseidon2.proof_words(18), 458);
    }

    #[test]
    fn split_halves() {
        let c = Fr::from(3u64) + Fr::from(2u64).pow([127u64]) * Fr::from(5u64);
        assert_eq!(split(c), (Fr::from(3u64), Fr::from(5u64)));
    }
}

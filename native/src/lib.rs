//! `linen_native`: MiMC-BLS12-377 and Poseidon2-BN254 for Linen's state tree, in Rust (arkworks fields).
//!
//! Every function takes 32-byte big-endian words and refuses (ValueError, with the same message as
//! linen/state/hashers/base.py) any word that is not exactly 32 bytes or not below the field modulus,
//! so a native hash can never silently reduce a value the Python reference would refuse.

use ark_ff::{BigInt, PrimeField};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

pub mod honk;
mod honk_py;
mod lzss;
mod mimc;
mod poseidon2;
mod poseidon2_constants;
pub mod srs;
mod srs_py;

pub use mimc::hash as mimc_hash;
pub use poseidon2::{hash as poseidon2_hash, permute as poseidon2_permute};

type MimcFr = ark_bls12_377::Fr;
type PoseidonFr = ark_bn254::Fr;

const MIMC_NAME: &str = "mimc-bls12-377";
const POSEIDON2_NAME: &str = "poseidon2-bn254";

// -- words <-> field elements ---------------------------------------------------------------------

/// A 32-byte big-endian word as a canonical field element, or None if it is not below the modulus.
pub fn word_to_field<F: PrimeField<BigInt = BigInt<4>>>(word: &[u8; 32]) -> Option<F> {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        let start = 32 - 8 * (i + 1);
        *limb = u64::from_be_bytes(word[start..start + 8].try_into().unwrap());
    }
    F::from_bigint(BigInt::new(limbs))
}

pub fn field_to_word<F: PrimeField<BigInt = BigInt<4>>>(value: F) -> [u8; 32] {
    let limbs = value.into_bigint().0;
    let mut out = [0u8; 32];
    for (i, limb) in limbs.iter().enumerate() {
        let start = 32 - 8 * (i + 1);
        out[start..start + 8].copy_from_slice(&limb.to_be_bytes());
    }
    out
}

fn parse_bytes<F: PrimeField<BigInt = BigInt<4>>>(name: &str, data: &[u8]) -> PyResult<F> {
    let word: &[u8; 32] = data.try_into().map_err(|_| {
        PyValueError::new_err(format!("{name}: expected a 32-byte word, got {} bytes", data.len()))
    })?;
    word_to_field(word).ok_or_else(|| {
        let hex: String = word.iter().map(|b| format!("{b:02x}")).collect();
        PyValueError::new_err(format!(
            "{name}: word 0x{hex} is not below the field modulus; split wide values into 16-byte halves \
             (see linen.state.encoding.safe_words)"
        ))
    })
}

fn parse_word<F: PrimeField<BigInt = BigInt<4>>>(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<F> {
    if let Ok(b) = obj.downcast::<PyBytes>() {
        return parse_bytes(name, b.as_bytes());
    }
    // bytearray, memoryview, ...: anything with the buffer protocol that pyo3 reads as bytes.
    let data: Vec<u8> = obj.extract()?;
    parse_bytes(name, &data)
}

fn parse_words<F: PrimeField<BigInt = BigInt<4>>>(name: &str, words: &Bound<'_, PyAny>) -> PyResult<Vec<F>> {
    if let Ok(list) = words.downcast::<PyList>() {
        return list.iter().map(|w| parse_word(name, &w)).collect();
    }
    if let Ok(tuple) = words.downcast::<PyTuple>() {
        return tuple.iter().map(|w| parse_word(name, &w)).collect();
    }
    if words.is_instance_of::<PyBytes>() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{name}: expected a sequence of 32-byte words, got bytes"
        )));
    }
    let mut out = Vec::new();
    for w in words.try_iter()? {
        out.push(parse_word(name, &w?)?);
    }
    Ok(out)
}

fn to_pybytes<'py, F: PrimeField<BigInt = BigInt<4>>>(py: Python<'py>, value: F) -> Bound<'py, PyBytes> {
    PyBytes::new(py, &field_to_word(value))
}

fn to_pylist<'py, F: PrimeField<BigInt = BigInt<4>>>(py: Python<'py>, values: &[F]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, values.iter().map(|v| to_pybytes(py, *v)))
}

// -- parallel batches ----------------------------------------------------------------------------

/// Batches at least this long are split over the machine's cores (scoped threads, no global pool, so
/// a forking parent is safe); shorter ones are not worth the ~20 us per thread spawn.
const PARALLEL_THRESHOLD: usize = 512;

/// `(0..n).map(f)` computed in contiguous chunks, one per available core when `n` is large.
fn par_map<F: Send, G: Fn(usize) -> F + Sync>(n: usize, f: G) -> Vec<F> {
    let cores = std::thread::available_parallelism().map(|c| c.get()).unwrap_or(1);
    if n < PARALLEL_THRESHOLD || cores < 2 {
        return (0..n).map(f).collect();
    }
    let threads = cores.min(n / (PARALLEL_THRESHOLD / 2)).max(1);
    let chunk = n.div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| scope.spawn(move || (start..(start + chunk).min(n)).map(f).collect::<Vec<F>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("hash worker panicked")).collect()
    })
}

// -- generic Python-facing operations ------------------------------------------------------------

fn hash_one<'py, F: PrimeField<BigInt = BigInt<4>>>(
    py: Python<'py>,
    name: &str,
    words: &Bound<'py, PyAny>,
    hash: fn(&[F]) -> F,
) -> PyResult<Bound<'py, PyBytes>> {
    let values = parse_words::<F>(name, words)?;
    Ok(to_pybytes(py, hash(&values)))
}

fn hash_many<'py, F: PrimeField<BigInt = BigInt<4>>>(
    py: Python<'py>,
    name: &str,
    inputs: &Bound<'py, PyAny>,
    hash: fn(&[F]) -> F,
) -> PyResult<Bound<'py, PyList>> {
    let mut flat: Vec<F> = Vec::new();
    let mut ends: Vec<usize> = Vec::new();
    for words in inputs.try_iter()? {
        flat.extend(parse_words::<F>(name, &words?)?);
        ends.push(flat.len());
    }
    let out = py.allow_threads(|| {
        par_map(ends.len(), |i| {
            let start = if i == 0 { 0 } else { ends[i - 1] };
            hash(&flat[start..ends[i]])
        })
    });
    to_pylist(py, &out)
}

fn hash_pairs<'py, F: PrimeField<BigInt = BigInt<4>>>(
    py: Python<'py>,
    name: &str,
    left: &Bound<'py, PyAny>,
    right: &Bound<'py, PyAny>,
    hash: fn(&[F]) -> F,
) -> PyResult<Bound<'py, PyList>> {
    let l = parse_words::<F>(name, left)?;
    let r = parse_words::<F>(name, right)?;
    if l.len() != r.len() {
        return Err(PyValueError::new_err(format!(
            "{name}: hash_pairs needs as many left as right words ({} != {})",
            l.len(),
            r.len()
        )));
    }
    let out = py.allow_threads(|| par_map(l.len(), |i| hash(&[l[i], r[i]])));
    to_pylist(py, &out)
}

/// The hashes on a leaf's path, bottom-up: node_k = H(sibling_k, node) if bit k of the index is set,
/// else H(node, sibling_k); the last one is the (sub-)root. `len(siblings)` hashes in one call.
fn hash_path<'py, F: PrimeField<BigInt = BigInt<4>>>(
    py: Python<'py>,
    name: &str,
    leaf_index: u64,
    node: &Bound<'py, PyAny>,
    siblings: &Bound<'py, PyAny>,
    hash: fn(&[F]) -> F,
) -> PyResult<Bound<'py, PyList>> {
    let start = parse_word::<F>(name, node)?;
    let sibs = parse_words::<F>(name, siblings)?;
    let out = py.allow_threads(|| {
        let mut node = start;
        let mut index = leaf_index;
        let mut out = Vec::with_capacity(sibs.len());
        for sib in &sibs {
            node = if index & 1 == 1 { hash(&[*sib, node]) } else { hash(&[node, *sib]) };
            out.push(node);
            index >>= 1;
        }
        out
    });
    to_pylist(py, &out)
}

// -- the module ------------------------------------------------------------------------------------

/// MiMC-BLS12-377 (Linea / gnark-crypto) of 32-byte big-endian words; one 32-byte word out.
#[pyfunction]
fn mimc_bls12_377<'py>(py: Python<'py>, words: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    hash_one::<MimcFr>(py, MIMC_NAME, words, mimc::hash)
}

/// Poseidon2-BN254 (Noir `Poseidon2::hash`) of 32-byte big-endian words; one 32-byte word out.
#[pyfunction]
fn poseidon2_bn254<'py>(py: Python<'py>, words: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    hash_one::<PoseidonFr>(py, POSEIDON2_NAME, words, poseidon2::hash)
}

/// `[mimc_bls12_377(ws) for ws in inputs]` in one call (GIL released while hashing).
#[pyfunction]
fn mimc_bls12_377_many<'py>(py: Python<'py>, inputs: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    hash_many::<MimcFr>(py, MIMC_NAME, inputs, mimc::hash)
}

/// `[poseidon2_bn254(ws) for ws in inputs]` in one call (GIL released while hashing).
#[pyfunction]
fn poseidon2_bn254_many<'py>(py: Python<'py>, inputs: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    hash_many::<PoseidonFr>(py, POSEIDON2_NAME, inputs, poseidon2::hash)
}

/// `[mimc_bls12_377([l, r]) for l, r in zip(left, right)]` (equal lengths) in one call.
#[pyfunction]
fn mimc_bls12_377_pairs<'py>(
    py: Python<'py>,
    left: &Bound<'py, PyAny>,
    right: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    hash_pairs::<MimcFr>(py, MIMC_NAME, left, right, mimc::hash)
}

/// `[poseidon2_bn254([l, r]) for l, r in zip(left, right)]` (equal lengths) in one call.
#[pyfunction]
fn poseidon2_bn254_pairs<'py>(
    py: Python<'py>,
    left: &Bound<'py, PyAny>,
    right: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    hash_pairs::<PoseidonFr>(py, POSEIDON2_NAME, left, right, poseidon2::hash)
}

/// Recompute a Merkle path with MiMC: the `len(siblings)` node hashes above `node`, bottom-up.
#[pyfunction]
fn mimc_bls12_377_path<'py>(
    py: Python<'py>,
    leaf_index: u64,
    node: &Bound<'py, PyAny>,
    siblings: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    hash_path::<MimcFr>(py, MIMC_NAME, leaf_index, node, siblings, mimc::hash)
}

/// Recompute a Merkle path with Poseidon2: the `len(siblings)` node hashes above `node`, bottom-up.
#[pyfunction]
fn poseidon2_bn254_path<'py>(
    py: Python<'py>,
    leaf_index: u64,
    node: &Bound<'py, PyAny>,
    siblings: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    hash_path::<PoseidonFr>(py, POSEIDON2_NAME, leaf_index, node, siblings, poseidon2::hash)
}

/// Noir's `poseidon2_permutation` on four 32-byte words.
#[pyfunction]
fn poseidon2_bn254_permutation<'py>(py: Python<'py>, state: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    let values = parse_words::<PoseidonFr>(POSEIDON2_NAME, state)?;
    let mut s: [PoseidonFr; 4] = values.try_into().map_err(|v: Vec<PoseidonFr>| {
        PyValueError::new_err(format!("{POSEIDON2_NAME}: the permutation takes 4 words, got {}", v.len()))
    })?;
    poseidon2::permute(&mut s);
    to_pylist(py, &s)
}

/// The 62 MiMC round constants as 32-byte words (to check them against mimc.py).
#[pyfunction]
fn mimc_bls12_377_round_constants(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    to_pylist(py, &mimc::CONSTANTS[..])
}

/// blob v1's lzss compressor, counting the stream's bytes instead of writing them (linen/protocol/blob/lzss.py
/// is the reference it is checked against): what the sequencer's compressed-size rules ask.
#[pyclass(name = "LzssSizer", module = "linen_native")]
struct LzssSizer {
    inner: lzss::Sizer,
}

#[pymethods]
impl LzssSizer {
    #[new]
    #[pyo3(signature = (dictionary, chain_depth = 32))]
    fn new(dictionary: &[u8], chain_depth: usize) -> Self {
        LzssSizer { inner: lzss::Sizer::new(dictionary, chain_depth) }
    }

    /// Bytes of the stream so far (header included, the last byte padded).
    #[getter]
    fn size(&self) -> usize {
        self.inner.size()
    }

    /// Bytes written so far (uncompressed).
    #[getter]
    fn raw_size(&self) -> usize {
        self.inner.raw_size()
    }

    fn write(&mut self, data: &[u8]) -> PyResult<()> {
        self.inner.write(data).map_err(PyValueError::new_err)
    }

    fn begin(&mut self) {
        self.inner.begin()
    }

    fn commit(&mut self) {
        self.inner.commit()
    }

    fn rollback(&mut self) -> PyResult<()> {
        self.inner.rollback().map_err(PyValueError::new_err)
    }
}

#[pymodule]
fn linen_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MIMC_BLS12_377", MIMC_NAME)?;
    m.add("POSEIDON2_BN254", POSEIDON2_NAME)?;
    m.add_function(wrap_pyfunction!(mimc_bls12_377, m)?)?;
    m.add_function(wrap_pyfunction!(poseidon2_bn254, m)?)?;
    m.add_function(wrap_pyfunction!(mimc_bls12_377_many, m)?)?;
    m.add_function(wrap_pyfunction!(poseidon2_bn254_many, m)?)?;
    m.add_function(wrap_pyfunction!(mimc_bls12_377_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(poseidon2_bn254_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(mimc_bls12_377_path, m)?)?;
    m.add_function(wrap_pyfunction!(poseidon2_bn254_path, m)?)?;
    m.add_function(wrap_pyfunction!(poseidon2_bn254_permutation, m)?)?;
    m.add_function(wrap_pyfunction!(mimc_bls12_377_round_constants, m)?)?;
    m.add_class::<LzssSizer>()?;
    srs_py::register(m)?;
    honk_py::register(m)?;
    // Force the lazily derived MiMC constants now, so the first hash is not slower than the rest.
    let _ = &*mimc::CONSTANTS;
    Ok(())
}

//! Python bindings of the UltraHonk verifier (`honk.rs`); the GIL is released while it runs.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::honk::{self, Flavor, VerificationKey};

fn flavor(name: &str) -> PyResult<Flavor> {
    Flavor::parse(name).ok_or_else(|| PyValueError::new_err(format!("unknown bb target {name:?} (evm or noir-recursive)")))
}

/// `honk_verify(target, vk, proof, public_inputs, tau_g2) -> None | str`: None when the proof holds,
/// else why not. `vk`, `proof`, `public_inputs` are bb's files' bytes; `tau_g2` is bn254_g2.dat's 128
/// bytes. ValueError only for an unknown target or a tau_g2 that is not a G2 point.
#[pyfunction]
fn honk_verify(py: Python<'_>, target: &str, vk: &[u8], proof: &[u8], public_inputs: &[u8], tau_g2: &[u8]) -> PyResult<Option<String>> {
    let flavor = flavor(target)?;
    let g2 = crate::srs::decode_g2(tau_g2).ok_or_else(|| PyValueError::new_err("tau_g2 is not a point of BN254 G2"))?;
    let (vk, proof, public) = (vk.to_vec(), proof.to_vec(), public_inputs.to_vec());
    let verdict = py.allow_threads(move || {
        let key = VerificationKey::parse(flavor, &vk)?;
        honk::verify(flavor, &key, &proof, &public, &g2)
    });
    Ok(verdict.err())
}

/// `honk_vk_hash(target, vk) -> bytes`: the hash the transcript starts from (bb's vk_hash file).
#[pyfunction]
fn honk_vk_hash<'py>(py: Python<'py>, target: &str, vk: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let key = VerificationKey::parse(flavor(target)?, vk).map_err(PyValueError::new_err)?;
    Ok(PyBytes::new(py, &crate::field_to_word(key.hash)))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(honk_verify, m)?)?;
    m.add_function(wrap_pyfunction!(honk_vk_hash, m)?)?;
    Ok(())
}

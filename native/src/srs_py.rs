//! Python bindings of the SRS tool (src/srs.rs); linen/zk/srs.py is the Python-facing wrapper.
//! Every function releases the GIL while it works and raises ValueError with the tool's message.

use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::srs;

fn err(message: String) -> PyErr {
    PyValueError::new_err(message)
}

fn record<'py>(py: Python<'py>, c: &srs::Contribution) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("s_g1", PyBytes::new(py, &c.s_g1))?;
    out.set_item("s_g2", PyBytes::new(py, &c.s_g2))?;
    out.set_item("r_g1", PyBytes::new(py, &c.r_g1))?;
    out.set_item("z", PyBytes::new(py, &c.z))?;
    out.set_item("tau_g1", PyBytes::new(py, &c.tau_g1))?;
    Ok(out)
}

/// Write [tau^i]G1 (i < n_points) and [tau]G2 into `out_dir` in bb's CRS layout, tau derived from
/// `tau_seed` (keccak256, mod r). Returns the first contribution's record (see srs_contribute), its
/// proof of knowledge bound to `transcript`.
#[pyfunction]
#[pyo3(signature = (out_dir, n_points, tau_seed, transcript, threads = 0))]
fn srs_generate<'py>(
    py: Python<'py>,
    out_dir: PathBuf,
    n_points: usize,
    tau_seed: &[u8],
    transcript: &[u8],
    threads: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let seed = tau_seed.to_vec();
    let transcript = transcript.to_vec();
    let c = py
        .allow_threads(move || {
            let tau = srs::scalar_from_seed(b"linen-srs-tau", &seed);
            srs::generate(&out_dir, n_points, tau, &transcript, threads)
        })
        .map_err(err)?;
    record(py, &c)
}

/// Check the SRS in `srs_dir` (pairing checks of every consecutive pair of powers, batched with
/// random coefficients). Returns (number of G1 points, bn254_g2.dat's bytes).
#[pyfunction]
#[pyo3(signature = (srs_dir, min_points = 0, threads = 0))]
fn srs_verify<'py>(
    py: Python<'py>,
    srs_dir: PathBuf,
    min_points: usize,
    threads: usize,
) -> PyResult<(usize, Bound<'py, PyBytes>)> {
    let verified = py.allow_threads(move || srs::verify(&srs_dir, min_points, threads)).map_err(err)?;
    Ok((verified.n_points, PyBytes::new(py, &verified.g2)))
}

/// Raise the SRS in `src_dir` by a secret derived from `secret_seed`, writing the result to
/// `dst_dir`; the proof of knowledge is bound to `transcript`. Returns the contribution record
/// (s_g1, s_g2, r_g1, z, tau_g1: bytes).
#[pyfunction]
#[pyo3(signature = (src_dir, dst_dir, secret_seed, transcript, threads = 0))]
fn srs_contribute<'py>(
    py: Python<'py>,
    src_dir: PathBuf,
    dst_dir: PathBuf,
    secret_seed: &[u8],
    transcript: &[u8],
    threads: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let seed = secret_seed.to_vec();
    let transcript = transcript.to_vec();
    let c = py
        .allow_threads(move || {
            let s = srs::scalar_from_seed(b"linen-srs-contribution", &seed);
            srs::contribute(&src_dir, &dst_dir, s, &transcript, threads)
        })
        .map_err(err)?;
    record(py, &c)
}

fn array<const N: usize>(name: &str, data: &[u8]) -> PyResult<[u8; N]> {
    data.try_into().map_err(|_| err(format!("{name}: expected {N} bytes, got {}", data.len())))
}

/// Check one contribution record against the previous and the new [tau]G1 and the new [tau]G2
/// (64, 64, 128 bytes in bb's layout). Raises ValueError naming what does not hold.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn srs_check_contribution(
    py: Python<'_>,
    old_tau_g1: &[u8],
    new_tau_g1: &[u8],
    new_tau_g2: &[u8],
    s_g1: &[u8],
    s_g2: &[u8],
    r_g1: &[u8],
    z: &[u8],
    transcript: &[u8],
) -> PyResult<()> {
    let c = srs::Contribution {
        s_g1: array("s_g1", s_g1)?,
        s_g2: array("s_g2", s_g2)?,
        r_g1: array("r_g1", r_g1)?,
        z: array("z", z)?,
        tau_g1: array("new_tau_g1", new_tau_g1)?,
    };
    let (old, new1, new2, t) = (old_tau_g1.to_vec(), new_tau_g1.to_vec(), new_tau_g2.to_vec(), transcript.to_vec());
    py.allow_threads(move || srs::check_contribution(&old, &new1, &new2, &c, &t)).map_err(err)
}

/// Import `n_points` G1 powers and [tau]G2 of a snarkjs .ptau file into `dst_dir`; returns its power.
#[pyfunction]
fn srs_import_ptau(py: Python<'_>, ptau: PathBuf, dst_dir: PathBuf, n_points: usize) -> PyResult<u32> {
    py.allow_threads(move || srs::import_ptau(&ptau, &dst_dir, n_points)).map_err(err)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(srs_generate, m)?)?;
    m.add_function(wrap_pyfunction!(srs_verify, m)?)?;
    m.add_function(wrap_pyfunction!(srs_contribute, m)?)?;
    m.add_function(wrap_pyfunction!(srs_check_contribution, m)?)?;
    m.add_function(wrap_pyfunction!(srs_import_ptau, m)?)?;
    Ok(())
}

//! The size side of blob v1's lzss compressor (linen/protocol/blob/lzss.py is the reference).
//!
//! The same greedy longest match over hash chains of 4-byte prefixes, one step of lazy matching,
//! the cheaper of the two reference kinds per match and the same escapes for 0xFE/0xFF bytes, so
//! the stream it would write has exactly the Python compressor's length; it counts bits instead of
//! writing them. Incremental, with one level of begin/rollback, as the sequencer needs to try a
//! transaction and give it back.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The hash chains' keys are 4-byte prefixes as u32: one multiply spreads them (SipHash costs more here
/// than the whole match search).
#[derive(Default)]
struct PrefixHasher(u64);

impl Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, value: u32) {
        self.0 = (value as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Chains = HashMap<u32, Vec<u32>, BuildHasherDefault<PrefixHasher>>;

pub const STREAM_HEADER_SIZE: usize = 3;
const SHORT_REF: u8 = 0xFE;
const LONG_REF: u8 = 0xFF;
const MAX_MATCH: usize = 256;
const SHORT_WINDOW: usize = 1 << 14;
const LONG_WINDOW: usize = 1 << 21;
const LITERAL_COST: i64 = 8;
const SHORT_COST: i64 = 8 + 8 + 14;
const LONG_COST: i64 = 8 + 8 + 21;
const KEY_SIZE: usize = 4;

struct Mark {
    window_len: usize,
    bits: u64,
    indexed: usize,
}

pub struct Sizer {
    window: Vec<u8>,
    base: usize,
    depth: usize,
    table: Chains,
    indexed: usize,
    bits: u64,
    mark: Option<Mark>,
    log: Vec<u32>,
}

fn key_at(window: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([window[i], window[i + 1], window[i + 2], window[i + 3]])
}

impl Sizer {
    /// A sizer whose history starts with `dictionary` (0xFE 0xFF appended when it lacks either).
    pub fn new(dictionary: &[u8], depth: usize) -> Sizer {
        let mut window = dictionary.to_vec();
        if !window.contains(&SHORT_REF) || !window.contains(&LONG_REF) {
            window.extend_from_slice(&[SHORT_REF, LONG_REF]);
        }
        let base = window.len();
        let mut sizer = Sizer { window, base, depth, table: Chains::default(), indexed: 0, bits: 0, mark: None, log: Vec::new() };
        sizer.index_to((base + 1).saturating_sub(KEY_SIZE));
        sizer
    }

    /// Bytes of the stream so far: header, tokens, the last byte padded.
    pub fn size(&self) -> usize {
        STREAM_HEADER_SIZE + self.bits.div_ceil(8) as usize
    }

    pub fn raw_size(&self) -> usize {
        self.window.len() - self.base
    }

    pub fn begin(&mut self) {
        self.mark = Some(Mark { window_len: self.window.len(), bits: self.bits, indexed: self.indexed });
        self.log.clear();
    }

    pub fn commit(&mut self) {
        self.mark = None;
        self.log.clear();
    }

    pub fn rollback(&mut self) -> Result<(), String> {
        let mark = self.mark.take().ok_or("rollback without begin")?;
        while let Some(key) = self.log.pop() {
            let chain = self.table.get_mut(&key).expect("a logged key has a chain");
            chain.pop();
            if chain.is_empty() {
                self.table.remove(&key);
            }
        }
        self.window.truncate(mark.window_len);
        self.bits = mark.bits;
        self.indexed = mark.indexed;
        Ok(())
    }

    pub fn write(&mut self, data: &[u8]) -> Result<(), String> {
        if data.is_empty() {
            return Ok(());
        }
        let start = self.window.len();
        if start - self.base + data.len() > LONG_WINDOW - self.base {
            return Err(format!(
                "lzss input beyond {} bytes: references could not reach the dictionary",
                LONG_WINDOW - self.base
            ));
        }
        self.window.extend_from_slice(data);
        let end = self.window.len();
        self.encode(start, end)
    }

    fn index_to(&mut self, end: usize) {
        let logging = self.mark.is_some();
        while self.indexed < end {
            let i = self.indexed;
            let key = key_at(&self.window, i);
            self.table.entry(key).or_default().push(i as u32);
            if logging {
                self.log.push(key);
            }
            self.indexed += 1;
        }
    }

    /// (gain in bits, distance, length) of the best reference at i.
    fn longest(&self, i: usize, end: usize) -> (i64, usize, usize) {
        let window = &self.window;
        let max_len = MAX_MATCH.min(end - i);
        if max_len < KEY_SIZE {
            return (0, 0, 0);
        }
        let chain = match self.table.get(&key_at(window, i)) {
            Some(chain) if !chain.is_empty() => chain,
            _ => return (0, 0, 0),
        };
        let (mut best_gain, mut best_dist, mut best_len) = (0i64, 0usize, 0usize);
        let lowest = i as i64 - LONG_WINDOW as i64;
        for &p in chain.iter().rev().take(self.depth) {
            let p = p as usize;
            if (p as i64) < lowest {
                break;
            }
            let lo = if best_len > 0 {
                if best_len >= max_len || window[p + best_len] != window[i + best_len] {
                    continue;
                }
                if window[p..p + best_len] != window[i..i + best_len] {
                    continue;
                }
                best_len + 1
            } else {
                KEY_SIZE
            };
            let mut length = lo;
            while length < max_len && window[p + length] == window[i + length] {
                length += 1;
            }
            let distance = i - p;
            let cost = if p >= self.base && distance <= SHORT_WINDOW { SHORT_COST } else { LONG_COST };
            let gain = LITERAL_COST * length as i64 - cost;
            if gain > best_gain {
                best_gain = gain;
                best_dist = distance;
                best_len = length;
                if length == max_len {
                    break;
                }
            }
        }
        (best_gain, best_dist, best_len)
    }

    /// A reference for a 0xFE/0xFF byte with no paying match: the last earlier occurrence of 3, 2 or 1 bytes.
    fn escape(&self, i: usize, end: usize) -> Result<(usize, usize), String> {
        let window = &self.window;
        let lowest = i.saturating_sub(LONG_WINDOW);
        for length in [3usize, 2, 1] {
            if i + length > end {
                continue;
            }
            // the last occurrence that ends before i + length - 1 (so it starts before i)
            if let Some(at) = memchr::memmem::rfind(&window[lowest..i + length - 1], &window[i..i + length]) {
                return Ok((i - (lowest + at), length));
            }
        }
        Err(format!("byte 0x{:02x} has no earlier occurrence within reach of a reference", window[i]))
    }

    fn reference_cost(&self, i: usize, distance: usize) -> u64 {
        if i - distance >= self.base && distance <= SHORT_WINDOW { SHORT_COST as u64 } else { LONG_COST as u64 }
    }

    fn encode(&mut self, start: usize, end: usize) -> Result<(), String> {
        let index_end = (end + 1).saturating_sub(KEY_SIZE);
        let mut i = start;
        let mut pending: Option<(i64, usize, usize)> = None;
        while i < end {
            self.index_to(i.min(index_end));
            let (gain, distance, length) = match pending.take() {
                Some(found) => found,
                None => self.longest(i, end),
            };
            let byte = self.window[i];
            if gain > 0 && byte < SHORT_REF && length < MAX_MATCH && i + 1 < end {
                self.index_to((i + 1).min(index_end));
                let following = self.longest(i + 1, end);
                if following.0 > gain {
                    self.bits += LITERAL_COST as u64;
                    i += 1;
                    pending = Some(following);
                    continue;
                }
            }
            if gain > 0 {
                self.bits += self.reference_cost(i, distance);
                i += length;
            } else if byte >= SHORT_REF {
                let (distance, length) = self.escape(i, end)?;
                self.bits += self.reference_cost(i, distance);
                i += length;
            } else {
                self.bits += LITERAL_COST as u64;
                i += 1;
            }
        }
        self.index_to(index_end);
        Ok(())
    }
}

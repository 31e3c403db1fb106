//! Row bitmaps: [`Bitmap`], one bit per row, and the three-valued [`Tri`] the evaluator
//! computes with (a row is true, false, or unknown when it is in neither set).

/// One bit per row, packed in 64-bit words; bits past `len` are always zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitmap {
    words: Vec<u64>,
    len: usize,
}

impl Bitmap {
    /// `len` rows, none set.
    pub fn zeros(len: usize) -> Bitmap {
        Bitmap { words: vec![0; len.div_ceil(64)], len }
    }

    /// `len` rows, all set.
    pub fn ones(len: usize) -> Bitmap {
        let mut bitmap = Bitmap { words: vec![u64::MAX; len.div_ceil(64)], len };
        bitmap.clear_tail();
        bitmap
    }

    pub fn from_bools(bools: &[bool]) -> Bitmap {
        Bitmap::from_slice(bools, |b| *b)
    }

    /// Sets the rows whose element of `data` satisfies `pred`, 64 rows per word.
    #[inline]
    pub(crate) fn from_slice<T>(data: &[T], pred: impl Fn(&T) -> bool) -> Bitmap {
        let mut words = Vec::with_capacity(data.len().div_ceil(64));
        for chunk in data.chunks(64) {
            let mut word = 0u64;
            for (i, value) in chunk.iter().enumerate() {
                word |= u64::from(pred(value)) << i;
            }
            words.push(word);
        }
        Bitmap { words, len: data.len() }
    }

    /// Sets the rows `i` in `0..len` for which `pred(i)` holds.
    pub(crate) fn from_fn(len: usize, mut pred: impl FnMut(usize) -> bool) -> Bitmap {
        let mut words = vec![0u64; len.div_ceil(64)];
        for (w, word) in words.iter_mut().enumerate() {
            let base = w * 64;
            let end = (base + 64).min(len);
            let mut bits = 0u64;
            for i in base..end {
                bits |= u64::from(pred(i)) << (i - base);
            }
            *word = bits;
        }
        Bitmap { words, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether row `i` is set; rows past the end are not.
    pub fn get(&self, i: usize) -> bool {
        i < self.len && self.words[i / 64] >> (i % 64) & 1 == 1
    }

    /// Sets or clears row `i`; rows past the end are ignored.
    pub fn set(&mut self, i: usize, value: bool) {
        if i >= self.len {
            return;
        }
        let mask = 1u64 << (i % 64);
        if value {
            self.words[i / 64] |= mask;
        } else {
            self.words[i / 64] &= !mask;
        }
    }

    /// Number of rows set.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The rows set, ascending.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut bits = word;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let bit = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(w * 64 + bit)
            })
        })
    }

    pub fn to_bools(&self) -> Vec<bool> {
        (0..self.len).map(|i| self.get(i)).collect()
    }

    /// The packed words, row `i` at bit `i % 64` of word `i / 64`.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Rows set in both (the shorter length wins).
    pub fn and(&self, other: &Bitmap) -> Bitmap {
        self.zip(other, |a, b| a & b)
    }

    /// Rows set in either (the shorter length wins).
    pub fn or(&self, other: &Bitmap) -> Bitmap {
        self.zip(other, |a, b| a | b)
    }

    /// Rows set in `self` but not in `other` (the shorter length wins).
    pub fn and_not(&self, other: &Bitmap) -> Bitmap {
        self.zip(other, |a, b| a & !b)
    }

    /// Rows not set.
    pub fn not(&self) -> Bitmap {
        let mut out = Bitmap { words: self.words.iter().map(|w| !w).collect(), len: self.len };
        out.clear_tail();
        out
    }

    pub(crate) fn and_assign(&mut self, other: &Bitmap) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    pub(crate) fn or_assign(&mut self, other: &Bitmap) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    fn zip(&self, other: &Bitmap, op: impl Fn(u64, u64) -> u64) -> Bitmap {
        let len = self.len.min(other.len);
        let words = self.words.iter().zip(&other.words).map(|(a, b)| op(*a, *b)).collect();
        let mut out = Bitmap { words, len };
        out.words.truncate(len.div_ceil(64));
        out.clear_tail();
        out
    }

    fn clear_tail(&mut self) {
        let rem = self.len % 64;
        if rem != 0
            && let Some(last) = self.words.last_mut()
        {
            *last &= (1u64 << rem) - 1;
        }
    }
}

/// A three-valued result per row: `t` holds the true rows, `f` the false ones; a row in
/// neither is unknown (a null or a JSON value of another type). The two never overlap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tri {
    pub(crate) t: Bitmap,
    pub(crate) f: Bitmap,
}

impl Tri {
    pub(crate) fn constant(len: usize, value: bool) -> Tri {
        if value {
            Tri { t: Bitmap::ones(len), f: Bitmap::zeros(len) }
        } else {
            Tri { t: Bitmap::zeros(len), f: Bitmap::ones(len) }
        }
    }

    /// True where `matches` and `known`, false where `known` only, unknown elsewhere.
    pub(crate) fn from_known(matches: Bitmap, known: &Bitmap) -> Tri {
        let t = matches.and(known);
        let f = known.and_not(&t);
        Tri { t, f }
    }

    /// Row `i` is `value(i)`: `Some(true)`, `Some(false)` or `None` for unknown.
    pub(crate) fn from_fn(len: usize, mut value: impl FnMut(usize) -> Option<bool>) -> Tri {
        let mut t = Bitmap::zeros(len);
        let mut f = Bitmap::zeros(len);
        for i in 0..len {
            match value(i) {
                Some(true) => t.words[i / 64] |= 1 << (i % 64),
                Some(false) => f.words[i / 64] |= 1 << (i % 64),
                None => {}
            }
        }
        Tri { t, f }
    }

    /// Every row known: true where `matches`.
    pub(crate) fn definite(matches: Bitmap) -> Tri {
        let f = matches.not();
        Tri { t: matches, f }
    }

    /// Kleene's `and`: false wins over unknown.
    pub(crate) fn and_assign(&mut self, other: &Tri) {
        self.t.and_assign(&other.t);
        self.f.or_assign(&other.f);
    }

    /// Kleene's `or`: true wins over unknown.
    pub(crate) fn or_assign(&mut self, other: &Tri) {
        self.t.or_assign(&other.t);
        self.f.and_assign(&other.f);
    }

    /// Negation keeps unknown rows unknown.
    pub(crate) fn not(self) -> Tri {
        Tri { t: self.f, f: self.t }
    }
}

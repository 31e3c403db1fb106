use proptest::prelude::*;

use super::{CodecError, Decoder, Encoder};
use crate::error::StorageError;

/// One value of each shape the codec knows.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    Bool(bool),
    Bytes(Vec<u8>),
    Str(String),
    F32s(Vec<u32>),
}

fn encode(values: &[Value]) -> Vec<u8> {
    let mut encoder = Encoder::new();
    for value in values {
        match value {
            Value::U8(v) => encoder.put_u8(*v),
            Value::U16(v) => encoder.put_u16(*v),
            Value::U32(v) => encoder.put_u32(*v),
            Value::U64(v) => encoder.put_u64(*v),
            Value::I8(v) => encoder.put_i8(*v),
            Value::I16(v) => encoder.put_i16(*v),
            Value::I32(v) => encoder.put_i32(*v),
            Value::I64(v) => encoder.put_i64(*v),
            Value::F32(bits) => encoder.put_f32(f32::from_bits(*bits)),
            Value::F64(bits) => encoder.put_f64(f64::from_bits(*bits)),
            Value::Bool(v) => encoder.put_bool(*v),
            Value::Bytes(v) => encoder.put_bytes(v),
            Value::Str(v) => encoder.put_str(v),
            Value::F32s(bits) => {
                let floats: Vec<f32> = bits.iter().map(|bits| f32::from_bits(*bits)).collect();
                encoder.put_len(floats.len());
                encoder.put_f32_slice(&floats);
            }
        }
    }
    assert_eq!(encoder.len(), encoder.as_bytes().len());
    encoder.into_bytes()
}

/// Decodes values of the same shapes as `shapes`.
fn decode(bytes: &[u8], shapes: &[Value]) -> Result<Vec<Value>, CodecError> {
    let mut decoder = Decoder::new(bytes);
    let mut values = Vec::new();
    for shape in shapes {
        let value = match shape {
            Value::U8(_) => Value::U8(decoder.get_u8()?),
            Value::U16(_) => Value::U16(decoder.get_u16()?),
            Value::U32(_) => Value::U32(decoder.get_u32()?),
            Value::U64(_) => Value::U64(decoder.get_u64()?),
            Value::I8(_) => Value::I8(decoder.get_i8()?),
            Value::I16(_) => Value::I16(decoder.get_i16()?),
            Value::I32(_) => Value::I32(decoder.get_i32()?),
            Value::I64(_) => Value::I64(decoder.get_i64()?),
            Value::F32(_) => Value::F32(decoder.get_f32()?.to_bits()),
            Value::F64(_) => Value::F64(decoder.get_f64()?.to_bits()),
            Value::Bool(_) => Value::Bool(decoder.get_bool()?),
            Value::Bytes(_) => Value::Bytes(decoder.get_bytes(1 << 20)?.to_vec()),
            Value::Str(_) => Value::Str(decoder.get_str(1 << 20)?.to_owned()),
            Value::F32s(_) => {
                let count = decoder.get_len(1 << 20)?;
                Value::F32s(decoder.get_f32_vec(count)?.iter().map(|f| f.to_bits()).collect())
            }
        };
        values.push(value);
    }
    decoder.finish()?;
    Ok(values)
}

fn value_strategy() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u8>().prop_map(Value::U8),
        any::<u16>().prop_map(Value::U16),
        any::<u32>().prop_map(Value::U32),
        any::<u64>().prop_map(Value::U64),
        any::<i8>().prop_map(Value::I8),
        any::<i16>().prop_map(Value::I16),
        any::<i32>().prop_map(Value::I32),
        any::<i64>().prop_map(Value::I64),
        any::<u32>().prop_map(Value::F32),
        any::<u64>().prop_map(Value::F64),
        any::<bool>().prop_map(Value::Bool),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        ".{0,20}".prop_map(Value::Str),
        proptest::collection::vec(any::<u32>(), 0..10).prop_map(Value::F32s),
    ]
}

proptest! {
    #[test]
    fn round_trip(values in proptest::collection::vec(value_strategy(), 0..20)) {
        let bytes = encode(&values);
        prop_assert_eq!(decode(&bytes, &values), Ok(values.clone()));
        // Every strict prefix fails cleanly (no panic, no success).
        for cut in 0..bytes.len() {
            prop_assert!(decode(&bytes[..cut], &values).is_err());
        }
    }
}

#[test]
fn layout_is_fixed_width_little_endian() {
    let mut encoder = Encoder::new();
    encoder.put_u16(0x0102);
    encoder.put_i32(-2);
    encoder.put_bool(true);
    encoder.put_str("hi");
    encoder.put_raw(&[9]);
    let expected = [
        0x02, 0x01, // u16
        0xFE, 0xFF, 0xFF, 0xFF, // i32 -2
        1,    // bool
        2, 0, 0, 0, 0, 0, 0, 0, b'h', b'i', // str with u64 length
        9,    // raw
    ];
    assert_eq!(encoder.as_bytes(), expected);
}

#[test]
fn length_beyond_remaining_bytes_fails_before_allocating() {
    let mut encoder = Encoder::new();
    encoder.put_u64(u64::MAX - 1);
    encoder.put_raw(b"tiny");
    let bytes = encoder.into_bytes();
    let error = CodecError { offset: 0, reason: "length exceeds the remaining bytes" };
    assert_eq!(Decoder::new(&bytes).get_bytes(u64::MAX), Err(error));
    assert_eq!(Decoder::new(&bytes).get_str(u64::MAX), Err(error));
    assert_eq!(Decoder::new(&bytes).get_len(u64::MAX), Err(error));

    // A count that would need more bytes than remain: refused without allocating.
    let mut decoder = Decoder::new(b"0123");
    assert_eq!(decoder.get_f32_vec(usize::MAX / 2).map(|v| v.len()).unwrap_err().offset, 0);
    assert_eq!(decoder.get_f32_vec(usize::MAX).map(|v| v.len()).unwrap_err().offset, 0);
    assert_eq!(decoder.get_f32_vec(2).map(|v| v.len()).unwrap_err().offset, 0);
    assert_eq!(decoder.get_f32_vec(1).unwrap().len(), 1);
}

#[test]
fn length_above_its_limit_fails() {
    let mut encoder = Encoder::new();
    encoder.put_bytes(b"hello");
    let bytes = encoder.into_bytes();
    let mut decoder = Decoder::new(&bytes);
    assert_eq!(
        decoder.get_bytes(4),
        Err(CodecError { offset: 0, reason: "length exceeds its limit" })
    );
    assert_eq!(decoder.position(), 0, "a failed read does not move the decoder");
    assert_eq!(decoder.get_bytes(5), Ok(&b"hello"[..]));
    assert_eq!(decoder.remaining(), 0);
    assert_eq!(decoder.finish(), Ok(()));
}

#[test]
fn malformed_values_are_rejected() {
    assert_eq!(
        Decoder::new(&[2]).get_bool(),
        Err(CodecError { offset: 0, reason: "invalid boolean byte" })
    );
    let mut encoder = Encoder::new();
    encoder.put_bytes(&[0xFF, 0xFE]);
    let bytes = encoder.into_bytes();
    assert_eq!(
        Decoder::new(&bytes).get_str(10),
        Err(CodecError { offset: 0, reason: "string is not valid UTF-8" })
    );
    let mut decoder = Decoder::new(&[1, 2, 3]);
    assert_eq!(decoder.get_u16(), Ok(0x0201));
    assert_eq!(
        decoder.finish(),
        Err(CodecError { offset: 2, reason: "unexpected trailing bytes" })
    );
    assert_eq!(
        Decoder::new(&[1, 2, 3]).get_u32(),
        Err(CodecError { offset: 0, reason: "unexpected end of data" })
    );
}

#[test]
fn codec_error_becomes_corrupt_with_path_and_absolute_offset() {
    let error = CodecError { offset: 5, reason: "unexpected end of data" };
    let corrupt = error.into_corrupt("collections/7/segments/1.seg", 100);
    let StorageError::Corrupt { path, offset, reason } = corrupt else {
        panic!("expected Corrupt, got {corrupt:?}");
    };
    assert_eq!((path.as_str(), offset), ("collections/7/segments/1.seg", 105));
    assert_eq!(reason, "unexpected end of data");
    assert_eq!(error.to_string(), "unexpected end of data at byte 5");
}

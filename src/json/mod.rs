//! Python object → JSON bytes, byte-for-byte what FastAPI's `JSONResponse` renders
//! (`json.dumps(jsonable_encoder(obj), ensure_ascii=False, allow_nan=False, separators=(",", ":"))`).
//!
//! The hot path dispatches on the exact type pointer, common types first; anything else goes
//! through the `#[inline(never)]` slow path, which asks the Python `jsonable_encoder` once.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use std::io::Write;
use std::ptr::addr_of_mut;

const MAX_DEPTH: usize = 512;

/// Serialises Python values; `fallback` is `fastrapi.encoders.jsonable_encoder`.
pub struct JsonEncoder<'a, 'py> {
    fallback: Option<&'a Bound<'py, PyAny>>,
}

impl<'a, 'py> JsonEncoder<'a, 'py> {
    pub fn new(fallback: Option<&'a Bound<'py, PyAny>>) -> Self {
        JsonEncoder { fallback }
    }

    pub fn encode(&self, obj: &Bound<'py, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
        self.value(obj, out, 0)
    }

    fn value(&self, obj: &Bound<'py, PyAny>, out: &mut Vec<u8>, depth: usize) -> PyResult<()> {
        let ty = obj.get_type_ptr();
        // SAFETY: comparing type object addresses only; the statics are never written.
        unsafe {
            if ty == addr_of_mut!(ffi::PyUnicode_Type) {
                return write_str(obj, out);
            }
            if ty == addr_of_mut!(ffi::PyDict_Type) {
                return self.dict(obj.cast_unchecked::<PyDict>(), out, depth);
            }
            if ty == addr_of_mut!(ffi::PyList_Type) {
                return self.list(obj.cast_unchecked::<PyList>(), out, depth);
            }
            if ty == addr_of_mut!(ffi::PyLong_Type) {
                return write_int(obj, out);
            }
            if ty == addr_of_mut!(ffi::PyFloat_Type) {
                return write_float(ffi::PyFloat_AS_DOUBLE(obj.as_ptr()), out);
            }
            if ty == addr_of_mut!(ffi::PyBool_Type) {
                out.extend_from_slice(if obj.is_truthy()? { b"true" } else { b"false" });
                return Ok(());
            }
        }
        if obj.is_none() {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        self.slow(obj, out, depth)
    }

    #[inline(never)]
    fn slow(&self, obj: &Bound<'py, PyAny>, out: &mut Vec<u8>, depth: usize) -> PyResult<()> {
        if let Ok(tuple) = obj.cast_exact::<PyTuple>() {
            return self.seq(tuple.iter(), out, depth);
        }
        match self.fallback {
            Some(fallback) => {
                let converted = fallback.call1((obj,))?;
                // The fallback returns plain JSON types; a second miss means it could not convert.
                JsonEncoder { fallback: None }.value(&converted, out, depth)
            }
            None => self.subclass(obj, out, depth),
        }
    }

    /// Instances of subclasses of the JSON types, encoded as `json.dumps` encodes them (a `str`
    /// subclass as its text, ...): what `jsonable_encoder` hands back unchanged.
    #[inline(never)]
    fn subclass(&self, obj: &Bound<'py, PyAny>, out: &mut Vec<u8>, depth: usize) -> PyResult<()> {
        if obj.is_instance_of::<PyString>() {
            return write_str(obj, out);
        }
        if obj.is_instance_of::<pyo3::types::PyInt>() {
            return write_int(obj, out);
        }
        if let Ok(float) = obj.cast::<pyo3::types::PyFloat>() {
            return write_float(float.value(), out);
        }
        if let Ok(dict) = obj.cast::<PyDict>() {
            return self.dict(dict, out, depth);
        }
        if let Ok(list) = obj.cast::<PyList>() {
            return self.list(list, out, depth);
        }
        if let Ok(tuple) = obj.cast::<PyTuple>() {
            return self.seq(tuple.iter(), out, depth);
        }
        Err(PyTypeError::new_err(format!("Object of type {} is not JSON serializable", obj.get_type().name()?)))
    }

    fn dict(&self, dict: &Bound<'py, PyDict>, out: &mut Vec<u8>, depth: usize) -> PyResult<()> {
        if depth >= MAX_DEPTH {
            return Err(PyValueError::new_err("maximum JSON nesting depth exceeded"));
        }
        out.push(b'{');
        let mut first = true;
        for (key, value) in dict.iter() {
            if self.fallback.is_some() && is_sqlalchemy_state(&key) {
                // FastAPI's `jsonable_encoder(sqlalchemy_safe=True)` leaves these out.
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            self.key(&key, out)?;
            out.push(b':');
            self.value(&value, out, depth + 1)?;
        }
        out.push(b'}');
        Ok(())
    }

    fn list(&self, list: &Bound<'py, PyList>, out: &mut Vec<u8>, depth: usize) -> PyResult<()> {
        self.seq(list.iter(), out, depth)
    }

    fn seq(&self, items: impl Iterator<Item = Bound<'py, PyAny>>, out: &mut Vec<u8>, depth: usize) -> PyResult<()> {
        if depth >= MAX_DEPTH {
            return Err(PyValueError::new_err("maximum JSON nesting depth exceeded"));
        }
        out.push(b'[');
        let mut first = true;
        for item in items {
            if !first {
                out.push(b',');
            }
            first = false;
            self.value(&item, out, depth + 1)?;
        }
        out.push(b']');
        Ok(())
    }

    /// Keys follow `json.dumps`: str as is; int, float, bool and None as their JSON text.
    fn key(&self, key: &Bound<'py, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
        let ty = key.get_type_ptr();
        unsafe {
            if ty == addr_of_mut!(ffi::PyUnicode_Type) {
                return write_str(key, out);
            }
            out.push(b'"');
            if ty == addr_of_mut!(ffi::PyLong_Type) {
                write_int(key, out)?;
            } else if ty == addr_of_mut!(ffi::PyFloat_Type) {
                write_float(ffi::PyFloat_AS_DOUBLE(key.as_ptr()), out)?;
            } else if ty == addr_of_mut!(ffi::PyBool_Type) {
                out.extend_from_slice(if key.is_truthy()? { b"true" } else { b"false" });
            } else if key.is_none() {
                out.extend_from_slice(b"null");
            } else {
                out.pop();
                return self.slow_key(key, out);
            }
            out.push(b'"');
        }
        Ok(())
    }

    #[inline(never)]
    fn slow_key(&self, key: &Bound<'py, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
        match self.fallback {
            Some(fallback) => {
                let converted = fallback.call1((key,))?;
                JsonEncoder { fallback: None }.key(&converted, out)
            }
            None => Err(PyTypeError::new_err(format!(
                "keys must be str, int, float, bool or None, not {}",
                key.get_type().name()?
            ))),
        }
    }
}

fn write_int(obj: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
    let mut overflow = 0;
    // SAFETY: obj is an exact int; the call cannot fail except by overflow, reported separately.
    let v = unsafe { ffi::PyLong_AsLongLongAndOverflow(obj.as_ptr(), &mut overflow) };
    if overflow == 0 {
        let mut digits = itoa::Buffer::new();
        out.extend_from_slice(digits.format(v).as_bytes());
        Ok(())
    } else {
        let text = obj.str()?;
        out.extend_from_slice(text.to_str()?.as_bytes());
        Ok(())
    }
}

/// Formats a float exactly as Python's `repr` (shortest round-trip digits; exponent form
/// when the decimal point would fall before -4 or after 16 digits).
pub fn write_float(v: f64, out: &mut Vec<u8>) -> PyResult<()> {
    if !v.is_finite() {
        return Err(PyValueError::new_err("Out of range float values are not JSON compliant"));
    }
    if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() { b"-0.0" } else { b"0.0" });
        return Ok(());
    }
    let mut buf = [0u8; 48];
    let len = {
        let mut cursor = &mut buf[..];
        let _ = write!(cursor, "{v:e}");
        48 - cursor.len()
    };
    let text = &buf[..len];
    let (negative, text) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        _ => (false, text),
    };
    let e_at = text.iter().position(|b| *b == b'e').unwrap_or(text.len());
    let mantissa = &text[..e_at];
    let exponent: i32 =
        std::str::from_utf8(&text[(e_at + 1).min(text.len())..]).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut digits = [0u8; 24];
    let mut n = 0;
    for &b in mantissa {
        if b != b'.' && n < digits.len() {
            digits[n] = b;
            n += 1;
        }
    }
    let digits = &digits[..n];
    let decpt = exponent + 1;
    if negative {
        out.push(b'-');
    }
    if decpt > -4 && decpt <= 16 {
        if decpt <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-decpt) as usize));
            out.extend_from_slice(digits);
        } else if decpt as usize >= digits.len() {
            out.extend_from_slice(digits);
            out.extend(std::iter::repeat_n(b'0', decpt as usize - digits.len()));
            out.extend_from_slice(b".0");
        } else {
            out.extend_from_slice(&digits[..decpt as usize]);
            out.push(b'.');
            out.extend_from_slice(&digits[decpt as usize..]);
        }
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        let exp = decpt - 1;
        out.push(if exp < 0 { b'-' } else { b'+' });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            out.push(b'0');
        }
        let mut d = itoa::Buffer::new();
        out.extend_from_slice(d.format(abs).as_bytes());
    }
    Ok(())
}

fn write_str(obj: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
    let mut size: ffi::Py_ssize_t = 0;
    // SAFETY: obj is an exact str; a NULL return (lone surrogates) is turned into the PyErr.
    let ptr = unsafe { ffi::PyUnicode_AsUTF8AndSize(obj.as_ptr(), &mut size) };
    if ptr.is_null() {
        return Err(PyErr::fetch(obj.py()));
    }
    // SAFETY: CPython keeps the UTF-8 buffer alive as long as the string object.
    let bytes = unsafe { std::slice::from_raw_parts(ptr as *const u8, size as usize) };
    escape_str(bytes, out);
    Ok(())
}

/// Which bytes `json.dumps(ensure_ascii=False)` escapes: control characters, `"` and `\`.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = true;
        i += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

pub fn escape_str(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !NEEDS_ESCAPE[b as usize] {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(v: f64) -> String {
        let mut out = Vec::new();
        write_float(v, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_match_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e100, "1e+100"),
            (std::f64::consts::PI, "3.141592653589793"),
            (-0.0, "-0.0"),
            (5e-324, "5e-324"),
        ];
        for (v, want) in cases {
            assert_eq!(float(v), want, "{v}");
        }
        assert!(write_float(f64::NAN, &mut Vec::new()).is_err());
    }

    #[test]
    fn escapes() {
        let mut out = Vec::new();
        escape_str("a\"b\\c\nd\u{1}é€".as_bytes(), &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "\"a\\\"b\\\\c\\nd\\u0001é€\"");
    }
}

/// `dumps(obj, default=None) -> bytes`: the server's JSON encoder, exposed for tests and benches.
#[pyfunction]
#[pyo3(signature = (obj, default = None))]
pub fn dumps<'py>(
    obj: &Bound<'py, PyAny>,
    default: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    let mut out = Vec::new();
    JsonEncoder::new(default).encode(obj, &mut out)?;
    Ok(pyo3::types::PyBytes::new(obj.py(), &out))
}

/// A `str` key starting with `_sa` (SQLAlchemy's instance state).
fn is_sqlalchemy_state(key: &Bound<'_, PyAny>) -> bool {
    key.cast::<PyString>().is_ok_and(|k| k.to_str().is_ok_and(|k| k.starts_with("_sa")))
}

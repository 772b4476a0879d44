//! Per-route parameter plans: path, query, header and cookie values found and coerced in Rust.
//!
//! Plain `str`/`int`/`float`/`bool` values that are unambiguous are converted here; anything
//! else (constraints, other types, values the fast path is unsure about) goes to the
//! parameter's pydantic validator, so every error is pydantic's own, located as FastAPI does.

mod query;

use std::borrow::Cow;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyList, PyString, PyTuple};

pub use query::{is_python_space, parse_cookies, parse_query};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    Header,
    Cookie,
}

impl Location {
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
            Location::Cookie => "cookie",
        }
    }
}

/// The annotation class a value is coerced to on the fast path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    Str,
    Int,
    Float,
    Bool,
    /// Always validated by pydantic.
    Other,
}

pub struct ParamPlan {
    /// Keyword argument name.
    pub name: Py<PyString>,
    pub location: Location,
    /// (location, alias): the error `loc` prefix.
    pub loc: (Py<PyString>, Py<PyString>),
    /// What is looked up: the alias (lowercased for headers).
    pub key: String,
    pub scalar: Scalar,
    pub required: bool,
    pub default: Py<PyAny>,
    pub default_factory: Option<Py<PyAny>>,
    /// `validate(raw) -> (ok, value | errors)`.
    pub validator: Py<PyAny>,
    /// `list[T]`: every occurrence of the key is collected.
    pub is_sequence: bool,
    /// For path parameters: position of the name in the route's template.
    pub path_index: Option<usize>,
}

/// The raw request parts parameters are read from.
pub struct RequestParts<'r> {
    pub path_params: &'r [(usize, Cow<'r, str>)],
    pub query: &'r str,
    pub headers: &'r [httparse::Header<'r>],
}

/// Lazily parsed query string and cookies, shared by all parameters of one request.
#[derive(Default)]
struct Parsed<'r> {
    query: Option<Vec<(Cow<'r, str>, Cow<'r, str>)>>,
    cookies: Option<Vec<(String, String)>>,
}

/// Fills `kwargs` with every parameter; validation errors are appended to `errors` in order.
pub fn extract<'py>(
    py: Python<'py>,
    plans: &[ParamPlan],
    parts: &RequestParts<'_>,
    kwargs: &Bound<'py, PyDict>,
    errors: &mut Vec<Bound<'py, PyAny>>,
) -> PyResult<()> {
    let mut parsed = Parsed::default();
    for plan in plans {
        let raw = lookup(py, plan, parts, &mut parsed)?;
        let value = match raw {
            Some(raw) => convert(py, plan, raw, errors)?,
            None if plan.required => {
                errors.push(missing_error(py, plan)?);
                None
            }
            None => Some(match &plan.default_factory {
                Some(factory) => factory.bind(py).call0()?,
                None => plan.default.bind(py).clone(),
            }),
        };
        if let Some(value) = value {
            kwargs.set_item(plan.name.bind(py), value)?;
        }
    }
    Ok(())
}

/// A raw value as found in the request: one string, or all occurrences for `list[T]`.
enum Raw<'py> {
    One(Bound<'py, PyString>, Option<ScalarText>),
    Many(Bound<'py, PyList>),
}

/// The text of a single value, kept for the fast path only when it is short ASCII.
struct ScalarText {
    bytes: [u8; 24],
    len: usize,
}

impl ScalarText {
    fn new(s: &str) -> Option<ScalarText> {
        (s.len() <= 24).then(|| {
            let mut bytes = [0u8; 24];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            ScalarText { bytes, len: s.len() }
        })
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

fn one<'py>(py: Python<'py>, s: &str) -> Raw<'py> {
    Raw::One(PyString::new(py, s), ScalarText::new(s))
}

fn lookup<'py, 'r>(
    py: Python<'py>,
    plan: &ParamPlan,
    parts: &RequestParts<'r>,
    parsed: &mut Parsed<'r>,
) -> PyResult<Option<Raw<'py>>> {
    Ok(match plan.location {
        Location::Path => {
            plan.path_index.and_then(|i| parts.path_params.iter().find(|(pi, _)| *pi == i)).map(|(_, v)| one(py, v))
        }
        Location::Query => {
            let pairs = parsed.query.get_or_insert_with(|| parse_query(parts.query));
            if plan.is_sequence {
                let values: Vec<&str> = pairs.iter().filter(|(k, _)| k == &plan.key).map(|(_, v)| v.as_ref()).collect();
                (!values.is_empty()).then(|| PyList::new(py, values)).transpose()?.map(Raw::Many)
            } else {
                pairs.iter().rev().find(|(k, _)| k == &plan.key).map(|(_, v)| one(py, v))
            }
        }
        Location::Header => {
            let mut matching = parts.headers.iter().filter(|h| h.name.eq_ignore_ascii_case(&plan.key));
            if plan.is_sequence {
                let values: Vec<String> = matching.map(|h| latin1(h.value)).collect();
                (!values.is_empty()).then(|| PyList::new(py, values)).transpose()?.map(Raw::Many)
            } else {
                matching.next().map(|h| one(py, &latin1(h.value)))
            }
        }
        Location::Cookie => {
            let cookies = parsed.cookies.get_or_insert_with(|| {
                parts
                    .headers
                    .iter()
                    .filter(|h| h.name.eq_ignore_ascii_case("cookie"))
                    .flat_map(|h| parse_cookies(&latin1(h.value)))
                    .collect()
            });
            cookies.iter().rev().find(|(k, _)| k == &plan.key).map(|(_, v)| one(py, v))
        }
    })
}

/// Header bytes as Starlette decodes them (latin-1).
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

fn convert<'py>(
    py: Python<'py>,
    plan: &ParamPlan,
    raw: Raw<'py>,
    errors: &mut Vec<Bound<'py, PyAny>>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let input = match raw {
        Raw::One(s, text) => {
            if let Some(v) = fast_path(py, plan.scalar, &s, text.as_ref()) {
                return Ok(Some(v));
            }
            s.into_any()
        }
        Raw::Many(list) => list.into_any(),
    };
    let result = plan.validator.bind(py).call1((input,))?;
    let result = result.cast_into::<PyTuple>().map_err(PyErr::from)?;
    let ok: bool = result.get_item(0)?.extract()?;
    let value = result.get_item(1)?;
    if ok {
        Ok(Some(value))
    } else {
        for err in value.try_iter()? {
            errors.push(err?);
        }
        Ok(None)
    }
}

/// Conversions that give exactly what pydantic's lax mode gives, or `None` to ask pydantic.
fn fast_path<'py>(
    py: Python<'py>,
    scalar: Scalar,
    s: &Bound<'py, PyString>,
    text: Option<&ScalarText>,
) -> Option<Bound<'py, PyAny>> {
    match scalar {
        Scalar::Str => Some(s.clone().into_any()),
        Scalar::Other => None,
        _ => {
            let t = text?.as_str();
            match scalar {
                Scalar::Int => parse_plain_int(t).and_then(|v| v.into_pyobject(py).ok()).map(Bound::into_any),
                Scalar::Float => parse_plain_float(t).map(|v| PyFloat::new(py, v).into_any()),
                Scalar::Bool => parse_bool(t).map(|b| PyBool::new(py, b).to_owned().into_any()),
                _ => None,
            }
        }
    }
}

/// `0` or an optionally negative integer without leading zeros, at most 18 digits.
fn parse_plain_int(t: &str) -> Option<i64> {
    let digits = t.strip_prefix('-').unwrap_or(t);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    t.parse().ok()
}

/// `-?digits(.digits)?` with at most 15 significant digits: correctly rounded either way.
fn parse_plain_float(t: &str) -> Option<f64> {
    let body = t.strip_prefix('-').unwrap_or(t);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && (body.contains('.') != frac.is_empty())
        && int.len() + frac.len() <= 15;
    if ok {
        t.parse().ok()
    } else {
        None
    }
}

fn parse_bool(t: &str) -> Option<bool> {
    match t {
        "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
        _ => None,
    }
}

/// FastAPI's error for an absent required parameter.
fn missing_error<'py>(py: Python<'py>, plan: &ParamPlan) -> PyResult<Bound<'py, PyAny>> {
    let err = PyDict::new(py);
    err.set_item(pyo3::intern!(py, "type"), pyo3::intern!(py, "missing"))?;
    let loc = PyTuple::new(py, [plan.loc.0.bind(py), plan.loc.1.bind(py)])?;
    err.set_item(pyo3::intern!(py, "loc"), loc)?;
    err.set_item(pyo3::intern!(py, "msg"), pyo3::intern!(py, "Field required"))?;
    err.set_item(pyo3::intern!(py, "input"), py.None())?;
    Ok(err.into_any())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers() {
        assert_eq!(parse_plain_int("42"), Some(42));
        assert_eq!(parse_plain_int("-7"), Some(-7));
        assert_eq!(parse_plain_int("0"), Some(0));
        for bad in ["", "-", "007", "+1", "1.0", " 1", "1_0", "9999999999999999999"] {
            assert_eq!(parse_plain_int(bad), None, "{bad}");
        }
        assert_eq!(parse_plain_float("1.5"), Some(1.5));
        assert_eq!(parse_plain_float("-3"), Some(-3.0));
        for bad in ["1.", ".5", "1e5", "nan", "inf", "1.2.3", "1234567890.1234567"] {
            assert_eq!(parse_plain_float(bad), None, "{bad}");
        }
        assert_eq!(parse_bool("yes"), Some(true));
        assert_eq!(parse_bool("True"), None);
    }
}

//! Reading a request's parameters whatever its Content-Type: upstream clients send a raw
//! JSON string as `text/plain`, as a urlencoded form, or with no Content-Type at all.

use axum::RequestExt;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use http_body_util::BodyExt;
use serde_json::{Map, Value};

use super::error::ApiError;

/// The request's parameters: query string fields, overridden by body fields of the same name.
#[derive(Debug, Default)]
pub struct Params(Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = req.uri().query().unwrap_or("").to_owned();
        let body = read_body(req, state).await?;
        Params::read(&query, &body)
    }
}

/// The whole body, or its refusal in our envelope (the limit is axum's DefaultBodyLimit layer).
/// A small body arrives in one frame, kept as it came: no buffer list, no copy.
pub async fn read_body<S: Send + Sync>(req: Request, _: &S) -> Result<Bytes, ApiError> {
    let mut body = req.into_limited_body();
    let mut whole = Bytes::new();
    let mut joined: Option<Vec<u8>> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| {
            if too_large(&err) {
                ApiError::BodyTooLarge
            } else {
                ApiError::InvalidRequest
            }
        })?;
        let Ok(data) = frame.into_data() else {
            break; // trailers: the data has ended
        };
        match &mut joined {
            Some(joined) => joined.extend_from_slice(&data),
            None if whole.is_empty() => whole = data,
            None => joined = Some([&whole[..], &data[..]].concat()),
        }
    }
    Ok(joined.map_or(whole, Bytes::from))
}

/// Whether a body error is the body limit's.
fn too_large(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

impl Params {
    pub fn read(query: &str, body: &[u8]) -> Result<Params, ApiError> {
        let body = std::str::from_utf8(body)
            .map_err(|_| ApiError::InvalidRequest)?
            .trim_start_matches('\u{feff}') // a byte-order mark some Windows clients send
            .trim();
        if body.is_empty() && query.is_empty() {
            return Err(ApiError::InvalidRequest);
        }
        // The query string is read leniently: a cache-buster like `?v2` is not an error.
        let mut fields: Map<String, Value> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        fields.extend(parse_body(body)?);
        Ok(Params(fields))
    }

    /// A parameter's value; `null` and the empty string count as absent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self.0.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(value) => Some(value),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A string parameter (1001 when it is another JSON type, or holds a NUL character,
    /// which no name or id can contain and PostgreSQL cannot store).
    pub fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if !s.contains('\0') => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(ApiError::InvalidType),
        }
    }

    /// An identifier that upstream clients send as a string or an integer (1001 otherwise).
    pub fn id(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
            _ => self.string(name),
        }
    }
}

fn parse_body(body: &str) -> Result<Map<String, Value>, ApiError> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        // Valid JSON that is not an object: an array, a string, a number…
        Ok(_) => Err(ApiError::InvalidRequest),
        // Broken JSON stays broken JSON; it is not reread as a form.
        Err(_) if body.starts_with(['{', '[', '"']) => Err(ApiError::InvalidRequest),
        Err(_) => parse_form(body),
    }
}

/// `key=value&…`; anything else (a pair without `=`, an empty key) is not a form.
fn parse_form(text: &str) -> Result<Map<String, Value>, ApiError> {
    let mut fields = Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let Some((key, _)) = pair.split_once('=') else {
            return Err(ApiError::InvalidRequest);
        };
        if key.is_empty() {
            return Err(ApiError::InvalidRequest);
        }
    }
    for (key, value) in form_urlencoded::parse(text.as_bytes()) {
        if key.contains('\u{FFFD}') || value.contains('\u{FFFD}') {
            return Err(ApiError::InvalidRequest); // percent-encoded bytes that are not UTF-8
        }
        fields
            .entry(key.into_owned())
            .or_insert(Value::String(value.into_owned()));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(query: &str, body: &str) -> Result<Params, u16> {
        Params::read(query, body.as_bytes()).map_err(|e| e.code())
    }

    #[test]
    fn json_form_and_query_are_read_and_body_wins() {
        let p = read("ssid=q&agentId=7", "\n {\"ssid\":\"b\"}\n").unwrap();
        assert_eq!(p.get("ssid"), Some(&json!("b")));
        assert_eq!(p.get("agentId"), Some(&json!("7")));
        let p = read("", "ssid=a%20b&mic_perm=1").unwrap();
        assert_eq!(p.get("ssid"), Some(&json!("a b")));
    }

    #[test]
    fn a_byte_order_mark_and_a_bare_query_word_are_tolerated() {
        let p = read("v2", "\u{feff}{\"ssid\":\"b\"}").unwrap();
        assert_eq!(p.get("ssid"), Some(&json!("b")));
    }

    #[test]
    fn unreadable_bodies_are_1047() {
        for body in [
            "",
            "[1,2]",
            "\"s\"",
            "42",
            "null",
            "{\"ssid\":",
            "hello",
            "=x",
            "{]",
        ] {
            assert_eq!(read("", body).unwrap_err(), 1047, "{body:?}");
        }
        assert_eq!(
            Params::read("", b"{\"ssid\":\"\xff\"}").unwrap_err().code(),
            1047
        );
        assert_eq!(read("", "ssid=%FF").unwrap_err(), 1047);
    }

    #[test]
    fn ids_are_strings_or_integers() {
        let p = read("", r#"{"a":12,"b":"x","c":1.5,"d":true,"e":"","f":null}"#).unwrap();
        assert_eq!(p.id("a").unwrap().as_deref(), Some("12"));
        assert_eq!(p.id("b").unwrap().as_deref(), Some("x"));
        assert_eq!(p.id("c").unwrap_err().code(), 1001);
        assert_eq!(p.id("d").unwrap_err().code(), 1001);
        assert_eq!(p.id("e").unwrap(), None);
        assert_eq!(p.id("f").unwrap(), None);
        assert_eq!(p.string("a").unwrap_err().code(), 1001);
        let p = read("", "{\"a\":\"x\\u0000\"}").unwrap();
        assert_eq!(p.id("a").unwrap_err().code(), 1001);
    }
}

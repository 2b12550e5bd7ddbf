//! A server's address and a client for it, what the in-process server (`TestApp`) and the server
//! process (`ServerProcess`) both are; and plain GETs.

use reqwest::Method;

/// A server's base URL (`http://127.0.0.1:<port>`) and a client for it.
pub struct Http {
    pub base: String,
    pub client: reqwest::Client,
}

/// GETs a URL, no credentials, on a client of its own: the response, to read its status,
/// headers and body.
pub async fn get(url: impl reqwest::IntoUrl) -> reqwest::Response {
    reqwest::Client::new().get(url).send().await.unwrap()
}

impl Http {
    pub fn new(base: String) -> Http {
        Http {
            base,
            client: reqwest::Client::new(),
        }
    }

    /// GETs a path of this server: the response.
    pub async fn get_response(&self, path: &str) -> reqwest::Response {
        get(format!("{}{path}", self.base)).await
    }

    /// GETs a path of this server: the HTTP status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let res = self.get_response(path).await;
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// A request with this Authorization header (or none) and body (or none): the HTTP
    /// status, the Content-Type and the body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        body: Option<String>,
    ) -> (u16, String, String) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(auth) = authorization {
            req = req.header("authorization", auth);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, content_type, res.text().await.unwrap())
    }
}

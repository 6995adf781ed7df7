// What a hub method may return: nothing, any `T: Serialize`, `Result<T, HubError>`, `Result<T, E>` with `E: std::error::Error`, `Option<T>`.
use hubs::prelude::*;
use serde::Serialize;

#[derive(ts_rs::TS, Serialize)]
struct Point {
    x: f64,
    y: f64,
}

/// An application error; its message reaches clients only with detailed errors enabled.
#[derive(Debug)]
struct NotFound(String);

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} not found", self.0)
    }
}

impl std::error::Error for NotFound {}

struct Shapes;

#[hub]
impl Shapes {
    /// No return type: the client gets `null`.
    pub async fn clear(&self) {}

    /// `()` written out: the same as no return type.
    pub async fn redraw(&self) -> () {}

    /// Any `T: Serialize`: the client gets the value.
    pub async fn origin(&self) -> Point {
        Point { x: 0.0, y: 0.0 }
    }

    /// `Result<T, HubError>`: `Ok` is the value, `Err(HubError::new(..))` an error the client always sees.
    pub async fn scale(&self, factor: f64) -> Result<Point, HubError> {
        if factor <= 0.0 {
            return Err(HubError::new("factor must be positive"));
        }
        Ok(Point { x: factor, y: factor })
    }

    /// `Result<T, E>` with `E: std::error::Error + Send + Sync + 'static`: an error shown only
    /// with detailed errors.
    pub async fn find(&self, name: String) -> Result<Point, NotFound> {
        Err(NotFound(name))
    }

    /// `?` converts any `std::error::Error` into `HubError`.
    pub async fn parse(&self, text: String) -> Result<i64, HubError> {
        Ok(text.parse::<i64>()?)
    }

    /// `Option<T>`: `None` is `null`.
    pub async fn lookup(&self, id: u32) -> Option<Point> {
        (id == 0).then_some(Point { x: 0.0, y: 0.0 })
    }
}

fn main() {
    let _endpoint = HubEndpoint::new(Shapes);
}

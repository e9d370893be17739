//! The local API's routes, written as API Gateway writes them: `GET /orders/{id}`,
//! `ANY /files/{proxy+}`, `POST /`. A request goes to the most specific route that matches
//! its method and decoded path (literal segments before parameters, parameters before a
//! greedy `{name+}`), as API Gateway chooses, and the route gives the event its route key,
//! resource and path parameters.

use std::collections::BTreeMap;

/// One route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    /// The method, upper-case; `None` for `ANY`.
    method: Option<String>,
    /// The path template as written (`/orders/{id}`).
    template: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `{name}`: one segment.
    Parameter(String),
    /// `{name+}`: the rest of the path, one segment or more; last only.
    Greedy(String),
}

/// A request's route, and the values of its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matched<'a> {
    pub(crate) route: &'a Route,
    pub(crate) parameters: BTreeMap<String, String>,
}

impl Route {
    /// The route every request matches when none is given: `ANY /{proxy+}` (and `/`).
    pub(crate) fn catch_all() -> Route {
        Route::parse("ANY /{proxy+}").unwrap_or_else(|_| Route {
            method: None,
            template: "/{proxy+}".into(),
            segments: vec![Segment::Greedy("proxy".into())],
        })
    }

    /// Reads `METHOD /path` (`ANY` for every method).
    pub(crate) fn parse(text: &str) -> Result<Route, String> {
        let (method, template) = text.trim().split_once(' ').ok_or_else(|| {
            format!("route {text:?}: expected `METHOD /path`, such as `GET /orders/{{id}}`")
        })?;
        let template = template.trim();
        if !template.starts_with('/') {
            return Err(format!("route {text:?}: the path must start with `/`"));
        }
        let method = match method.to_ascii_uppercase() {
            any if any == "ANY" || any == "*" => None,
            method => Some(method),
        };
        let mut segments = Vec::new();
        let parts: Vec<&str> = template
            .split('/')
            .filter(|part| !part.is_empty())
            .collect();
        for (index, part) in parts.iter().enumerate() {
            let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(greedy) if index + 1 == parts.len() => Segment::Greedy(greedy.into()),
                    Some(_) => {
                        return Err(format!(
                            "route {text:?}: a greedy parameter `{{name+}}` must come last"
                        ));
                    }
                    None => Segment::Parameter(name.into()),
                },
                None => Segment::Literal((*part).to_owned()),
            };
            segments.push(segment);
        }
        Ok(Route {
            method,
            template: template.to_owned(),
            segments,
        })
    }

    /// The route key an HTTP API puts in its events: `GET /orders/{id}`, `ANY /{proxy+}`.
    pub(crate) fn key(&self) -> String {
        format!(
            "{} {}",
            self.method.as_deref().unwrap_or("ANY"),
            self.template
        )
    }

    /// The path template, which REST APIs call the resource.
    pub(crate) fn template(&self) -> &str {
        &self.template
    }

    /// The parameters of `path` (decoded) if this route takes `method` and `path`.
    fn parameters(&self, method: &str, path: &str) -> Option<BTreeMap<String, String>> {
        if self.method.as_deref().is_some_and(|own| own != method) {
            return None;
        }
        let parts: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
        let mut parameters = BTreeMap::new();
        for (index, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(literal) => {
                    if parts.get(index) != Some(&literal.as_str()) {
                        return None;
                    }
                }
                Segment::Parameter(name) => {
                    parameters.insert(name.clone(), (*parts.get(index)?).to_owned());
                }
                Segment::Greedy(name) => {
                    let rest = parts.get(index..).filter(|rest| !rest.is_empty())?;
                    parameters.insert(name.clone(), rest.join("/"));
                    return Some(parameters);
                }
            }
        }
        (parts.len() == self.segments.len()).then_some(parameters)
    }

    /// How specific the route is, for choosing among matches: per segment, a literal before
    /// a parameter before a greedy one; then a route with its own method before `ANY`.
    fn rank(&self) -> (Vec<u8>, bool) {
        let segments = self
            .segments
            .iter()
            .map(|segment| match segment {
                Segment::Literal(_) => 0,
                Segment::Parameter(_) => 1,
                Segment::Greedy(_) => 2,
            })
            .collect();
        (segments, self.method.is_none())
    }
}

/// The most specific of `routes` that takes `method` and the decoded `path`. The catch-all
/// `ANY /{proxy+}` also takes `/`, with an empty `proxy`, as a local API that serves every
/// path should.
pub(crate) fn find<'a>(routes: &'a [Route], method: &str, path: &str) -> Option<Matched<'a>> {
    routes
        .iter()
        .filter_map(|route| {
            let parameters = route.parameters(method, path).or_else(|| {
                let root_of_catch_all = path.trim_matches('/').is_empty()
                    && matches!(route.segments.as_slice(), [Segment::Greedy(_)]);
                root_of_catch_all.then(BTreeMap::new)
            })?;
            Some(Matched { route, parameters })
        })
        .min_by(|a, b| a.route.rank().cmp(&b.route.rank()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(texts: &[&str]) -> Vec<Route> {
        texts
            .iter()
            .map(|text| Route::parse(text).expect("a route"))
            .collect()
    }

    #[test]
    fn the_most_specific_route_wins() {
        let table = routes(&[
            "ANY /{proxy+}",
            "GET /orders/{id}",
            "GET /orders/latest",
            "POST /orders",
            "ANY /files/{path+}",
        ]);
        let key = |method: &str, path: &str| find(&table, method, path).map(|m| m.route.key());
        assert_eq!(key("GET", "/orders/7").as_deref(), Some("GET /orders/{id}"));
        assert_eq!(
            key("GET", "/orders/latest").as_deref(),
            Some("GET /orders/latest")
        );
        assert_eq!(key("POST", "/orders").as_deref(), Some("POST /orders"));
        assert_eq!(key("DELETE", "/orders/7").as_deref(), Some("ANY /{proxy+}"));
        assert_eq!(
            key("PUT", "/files/a/b.txt").as_deref(),
            Some("ANY /files/{path+}")
        );
        let matched = find(&table, "GET", "/files/a/b.txt").expect("a match");
        assert_eq!(matched.parameters["path"], "a/b.txt");
        assert_eq!(
            find(&table, "GET", "/orders/7")
                .expect("a match")
                .parameters["id"],
            "7"
        );
        assert_eq!(key("GET", "/").as_deref(), Some("ANY /{proxy+}"));
    }

    #[test]
    fn a_path_no_route_takes_has_no_match() {
        let table = routes(&["GET /orders/{id}", "POST /orders"]);
        assert!(find(&table, "GET", "/orders").is_none());
        assert!(find(&table, "GET", "/orders/7/items").is_none());
        assert!(find(&table, "PUT", "/orders/7").is_none());
        assert!(find(&table, "GET", "/").is_none());
    }

    #[test]
    fn malformed_routes_are_refused() {
        for text in ["/orders", "GET orders", "GET /{rest+}/tail"] {
            assert!(Route::parse(text).is_err(), "{text}");
        }
    }
}

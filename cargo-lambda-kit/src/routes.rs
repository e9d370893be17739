//! Which function a request goes to: the routes of every function's `Api` and `HttpApi`
//! events in one table, the most specific match winning, as API Gateway picks (per
//! segment, a literal before `{name}` before `{name+}`; then a method before `ANY`).

/// One route of the table, and where its function's local API listens.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// `METHOD /path`, as the template writes it.
    pub(crate) route: String,
    /// The function's name, for messages.
    pub(crate) function: String,
    /// `host:port` of the function's `--serve-http` for this route's integration.
    pub(crate) address: String,
}

/// The routes of every function.
#[derive(Debug, Default)]
pub(crate) struct Table {
    entries: Vec<Entry>,
}

impl Table {
    /// Adds a route.
    pub(crate) fn add(&mut self, entry: Entry) {
        self.entries.push(entry);
    }

    /// Every route, in the order added.
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The route that takes `method` and the decoded `path`, if any.
    pub(crate) fn find(&self, method: &str, path: &str) -> Option<&Entry> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.entries
            .iter()
            .filter_map(|entry| Some((specificity(&entry.route, method, &segments)?, entry)))
            .min_by(|(a, _), (b, _)| a.cmp(b))
            .map(|(_, entry)| entry)
    }
}

/// How specifically `route` takes the request (lower is more specific), or `None` if it
/// does not: one rank per segment (0 literal, 1 `{name}`, 2 `{name+}`), then whether the
/// route is `ANY`.
fn specificity(route: &str, method: &str, segments: &[&str]) -> Option<(Vec<u8>, bool)> {
    let (own_method, template) = route.split_once(' ')?;
    let any = own_method.eq_ignore_ascii_case("ANY");
    if !any && !own_method.eq_ignore_ascii_case(method) {
        return None;
    }
    let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    let mut ranks = Vec::with_capacity(parts.len());
    for (index, part) in parts.iter().enumerate() {
        let braced = part.starts_with('{') && part.ends_with('}');
        if braced && part.ends_with("+}") {
            // Greedy: the rest of the path, one segment or more (the root too, for a route
            // that is nothing else, as the local API's catch-all takes `/`).
            let rest = segments.len().saturating_sub(index);
            return (rest > 0 || parts.len() == 1).then(|| {
                ranks.push(2);
                (ranks, any)
            });
        }
        let segment = segments.get(index)?;
        ranks.push(if braced {
            1
        } else if part == segment {
            0
        } else {
            return None;
        });
    }
    (parts.len() == segments.len()).then_some((ranks, any))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_goes_to_the_most_specific_route() {
        let mut table = Table::default();
        for (route, function) in [
            ("ANY /{proxy+}", "fallback"),
            ("GET /orders/{id}", "order"),
            ("GET /orders/latest", "latest"),
            ("POST /orders", "create"),
        ] {
            table.add(Entry {
                route: route.into(),
                function: function.into(),
                address: String::new(),
            });
        }
        let to = |method: &str, path: &str| table.find(method, path).map(|e| e.function.as_str());
        assert_eq!(to("GET", "/orders/7"), Some("order"));
        assert_eq!(to("GET", "/orders/latest"), Some("latest"));
        assert_eq!(to("POST", "/orders"), Some("create"));
        assert_eq!(to("DELETE", "/orders/7"), Some("fallback"));
        assert_eq!(to("GET", "/"), Some("fallback"));
        let mut only = Table::default();
        only.add(Entry {
            route: "GET /orders/{id}".into(),
            function: "order".into(),
            address: String::new(),
        });
        assert!(only.find("GET", "/orders").is_none());
        assert!(only.find("GET", "/orders/7/items").is_none());
        assert!(only.find("PUT", "/orders/7").is_none());
    }
}

package elbclient

import "context"

// The shapes every wrapper of an SDK call takes, each once: the wrappers in v2.go, v3.go and the
// rest name only their SDK call, its request and how to take the resource out of the response.
// Each goes through SDK.call (rate limit, repeats, error mapping, write count); call checks the
// context first, so the wrappers do not.

// read makes one read call fn(req) and returns its response.
func read[Req, Resp any](ctx context.Context, c *SDK, v2 bool, op string, fn func(*Req) (Resp, error), req *Req) (Resp, error) {
	var r Resp
	reuse, key := reuseOf(ctx), ""
	if reuse != nil {
		if key = reuseKeyOf(op, req); key != "" {
			if v, ok := reuse.get(key); ok {
				return v.(Resp), nil
			}
		}
	}
	err := c.call(ctx, v2, op, kindRead, "", func() (err error) {
		r, err = fn(req)
		return err
	}, nil)
	if err == nil && key != "" {
		reuse.put(key, r)
	}
	return r, err
}

// write makes one update or delete call (k) fn(req) whose response is not needed.
func write[Req, Resp any](ctx context.Context, c *SDK, v2 bool, op string, k kind, fn func(*Req) (Resp, error), req *Req) error {
	return c.call(ctx, v2, op, k, "", func() error {
		_, err := fn(req)
		return err
	}, nil)
}

// readAs makes one read call fn(req) and converts its response.
func readAs[Req, Resp, U any](ctx context.Context, c *SDK, v2 bool, op string, fn func(*Req) (Resp, error), req *Req, conv func(Resp) U) (U, error) {
	r, err := read(ctx, c, v2, op, fn, req)
	if err != nil {
		var zero U
		return zero, err
	}
	return conv(r), nil
}

// show reads one resource: field takes it out of the response, converted (nil when the
// response carries none: ErrNotFound).
func show[Req, Resp, U any](ctx context.Context, c *SDK, v2 bool, op string, fn func(*Req) (Resp, error), req *Req, field func(Resp) *U) (*U, error) {
	u, err := readAs(ctx, c, v2, op, fn, req, field)
	if err == nil && u == nil {
		err = &APIError{Op: op, Kind: ErrNotFound, Message: "response without the resource"}
	}
	return u, err
}

// create makes one resource with fn(req); made takes it out of the response, converted (nil when
// the response carries none). After an attempt whose reply was lost, found looks for what it
// made (nil when it is not there), so that a repeat never makes a second one. lbID is the load
// balancer whose busy state a 409 is checked against ("" for the context's).
func create[Req, Resp, U any](ctx context.Context, c *SDK, v2 bool, op, lbID string, fn func(*Req) (Resp, error), req *Req,
	made func(Resp) *U, found func() (*U, error)) (*U, error) {
	var out *U
	err := c.call(ctx, v2, op, kindCreate, lbID, func() error {
		r, err := fn(req)
		if err != nil {
			return err
		}
		if out = made(r); out == nil {
			return &APIError{Op: op, Kind: ErrServer, Message: "response without the created resource"}
		}
		return nil
	}, func() (bool, error) {
		u, err := found()
		if err != nil || u == nil {
			return false, err
		}
		out = u
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// list reads every page of a list call and converts the items: page(marker) is the request for
// the page after marker; items takes the page's items and its next marker (nil where the API has
// none) out of the response; id names an item (see paginate).
func list[Req, Resp, T, U any](ctx context.Context, c *SDK, v2 bool, op string, fn func(*Req) (Resp, error), page func(marker *string) *Req,
	items func(Resp) ([]T, *string), id func(T) string, conv func(T) U) ([]U, error) {
	all, err := paginate(func(marker *string) ([]T, *string, error) {
		r, err := read(ctx, c, v2, op, fn, page(marker))
		if err != nil {
			return nil, nil, err
		}
		got, next := items(r)
		return got, next, nil
	}, id)
	if err != nil {
		return nil, err
	}
	return convert(all, conv), nil
}

// convert is f of every item of in.
func convert[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, t := range in {
		out = append(out, f(t))
	}
	return out
}

// nonEmpty is &s, or nil for "" (a field left to the server's default).
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// mapPtr is f(*p), or nil when p is nil (a response without its resource).
func mapPtr[T, U any](p *T, f func(T) U) *U {
	if p == nil {
		return nil
	}
	return ptr(f(*p))
}

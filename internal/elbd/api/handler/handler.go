// Package handler is the one shape of elbd's API handlers, v3 (internal/elbd/api) and v2
// (internal/elbd/api/v2) alike: a handler gets the request and the caller's store.Scope and
// returns the status and body of a success, or an error for the API's error envelope. Writing
// the response is done once, here.
package handler

import (
	"net/http"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// Func is an API handler. A nil body sends the status alone (204 No Content for deletes).
type Func func(r *http.Request, sc store.Scope) (status int, body any, err error)

// Serve serves fn for one API family: the scope is that family and the project of the path
// (the router puts the authenticated project on the request; the path's is the fallback).
func Serve(family store.Family, fn Func) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		project := apierr.ProjectID(r)
		if project == "" {
			project = r.PathValue("project_id")
		}
		status, body, err := fn(r, store.Scope{Family: family, ProjectID: project})
		if err != nil {
			apierr.Write(w, r, err)
			return
		}
		if body == nil {
			w.WriteHeader(status)
			return
		}
		apierr.WriteJSON(w, status, body)
	})
}

// Route is one call: "METHOD path" and its handler.
type Route struct {
	Pattern string
	Fn      Func
}

// CRUD are the five calls of one kind of resource in both APIs: create and list on the
// collection path, show, update and delete on "<collection>/{id}".
func CRUD(collection string, create, list, show, update, del Func) []Route {
	item := collection + "/{id}"
	return []Route{{"POST " + collection, create}, {"GET " + collection, list}, {"GET " + item, show},
		{"PUT " + item, update}, {"DELETE " + item, del}}
}

// Reply answers a call that yields one record: err for the error envelope, or v's body with
// status. Each API renders each kind its own way; the calls on one record share that way.
type Reply[T any] func(r *http.Request, sc store.Scope, status int, v T, err error) (int, any, error)

// Show is the show call of one kind ("GET <collection>/{id}"): get reads the record the path's
// id names, reply answers with it (200) or with get's error.
func Show[T any](get func(sc store.Scope, id string) (T, error), reply Reply[T]) Func {
	return func(r *http.Request, sc store.Scope) (int, any, error) {
		v, err := get(sc, r.PathValue("id"))
		return reply(r, sc, http.StatusOK, v, err)
	}
}

// Delete is a delete call on one record ("DELETE <collection>/{id}[/...]"): del removes what the
// path's id names; the answer is 204 No Content, or del's error.
func Delete(del func(sc store.Scope, id string) error) Func {
	return func(r *http.Request, sc store.Scope) (int, any, error) {
		return http.StatusNoContent, nil, del(sc, r.PathValue("id"))
	}
}

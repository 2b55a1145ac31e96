package main

import (
	"fmt"
	"reflect"
)

// An SDK response carries one resource (a *T), or one list of them (a *[]T), beside request_id,
// page_info, the HTTP status and, on creates, IDs the API fills only for prepaid resources. The helpers here take it out, so that each command names only its SDK call
// and its table fields, for both API families alike.

// metaFields are the response fields that are not the resource.
var metaFields = map[string]bool{"RequestId": true, "PageInfo": true, "HttpStatusCode": true}

// resource is the resource of an SDK response (*T, or []T for a list); a value that is not a
// response struct (already a resource, or a list elbctl gathered) is returned as it is.
func resource(resp any) (any, error) {
	v := reflect.ValueOf(resp)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct || !v.Elem().FieldByName("HttpStatusCode").IsValid() {
		return resp, nil
	}
	v = v.Elem()
	var found []reflect.Value
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if !f.IsExported() || metaFields[f.Name] || f.Type.Kind() != reflect.Pointer {
			continue
		}
		if k := f.Type.Elem().Kind(); k == reflect.Struct || k == reflect.Slice {
			found = append(found, v.Field(i))
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("elbctl: %s carries %d resources, not one", v.Type(), len(found))
	}
	f := found[0]
	if f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Slice {
		if f.IsNil() {
			return reflect.MakeSlice(f.Type().Elem(), 0, 0).Interface(), nil // an empty list, so tables print their header
		}
		return f.Elem().Interface(), nil
	}
	return f.Interface(), nil
}

// view shows a call's resource as a table of these JSON fields (or as JSON with -o json).
type view []string

// of is the command's result for an SDK call's response and error.
func (fields view) of(resp any, err error) (result, error) {
	if err != nil {
		return result{}, err
	}
	v, err := resource(resp)
	if err != nil {
		return result{}, err
	}
	return result{v, fields}, nil
}

// allPages follows the v3 API's page_info.next_marker until the last page, so that a list is
// complete however many items there are; page is one v3 List* call from marker. The same marker
// twice ends it (a server that ignores the marker must not make it loop).
func allPages(page func(marker *string) (any, error)) (any, error) {
	var out reflect.Value
	var marker *string
	seen := map[string]bool{}
	for {
		resp, err := page(marker)
		if err != nil {
			return nil, err
		}
		items, err := resource(resp)
		if err != nil {
			return nil, err
		}
		iv := reflect.ValueOf(items)
		if !out.IsValid() {
			out = reflect.MakeSlice(iv.Type(), 0, iv.Len()) // [] rather than null when empty
		}
		out = reflect.AppendSlice(out, iv)
		next := reflect.ValueOf(resp).Elem().FieldByName("PageInfo")
		if !next.IsValid() || next.IsNil() {
			return out.Interface(), nil
		}
		m := next.Elem().FieldByName("NextMarker").Interface().(*string)
		if m == nil || *m == "" || seen[*m] {
			return out.Interface(), nil
		}
		seen[*m] = true
		marker = m
	}
}

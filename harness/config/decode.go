package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// decodeStrict decodes a JSON document into v (a pointer to a struct), walking the struct
// itself so that every error names the key path ("tests.parallel") — encoding/json's own
// unknown-field errors name neither the path nor the known keys.
func decodeStrict(doc []byte, v any) error {
	return decodeValue("", json.RawMessage(doc), reflect.ValueOf(v).Elem())
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func decodeValue(path string, raw json.RawMessage, v reflect.Value) error {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil // `key:` with no value keeps the default
	}
	if reflect.PointerTo(v.Type()).Implements(unmarshalerType) {
		if err := json.Unmarshal(raw, v.Addr().Interface()); err != nil {
			return keyError(path, describeJSONError(err, v.Type(), raw))
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		if err := decodeValue(path, raw, elem.Elem()); err != nil {
			return err
		}
		v.Set(elem)
		return nil
	case reflect.Struct:
		return decodeStruct(path, raw, v)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.Struct {
			break
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return keyError(path, fmt.Errorf("want a list, got %s", brief(raw)))
		}
		out := reflect.MakeSlice(v.Type(), len(items), len(items))
		var errs []*Error
		for i, item := range items {
			p := fmt.Sprintf("%s[%d]", path, i)
			if err := decodeValue(p, item, out.Index(i)); err != nil {
				errs = appendErrors(errs, keyError(p, err))
			}
		}
		if len(errs) > 0 {
			first := *errs[0]
			first.Also = errs[1:]
			return &first
		}
		v.Set(out)
		return nil
	}
	if err := json.Unmarshal(raw, v.Addr().Interface()); err != nil {
		return keyError(path, describeJSONError(err, v.Type(), raw))
	}
	return nil
}

func decodeStruct(path string, raw json.RawMessage, v reflect.Value) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return keyError(path, fmt.Errorf("want a mapping, got %s", brief(raw)))
	}
	known := map[string]int{}
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			known[name] = i
		}
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic: the errors always come in the same order
	var errs []*Error
	for _, k := range keys {
		i, ok := known[k]
		if !ok {
			names := make([]string, 0, len(known))
			for n := range known {
				names = append(names, n)
			}
			sort.Strings(names)
			errs = appendErrors(errs, keyError(join(path, k), fmt.Errorf("unknown key (known keys here: %s)", strings.Join(names, ", "))))
			continue
		}
		if err := decodeValue(join(path, k), fields[k], v.Field(i)); err != nil {
			errs = appendErrors(errs, keyError(join(path, k), err))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	first := *errs[0]
	first.Also = errs[1:]
	return &first
}

// appendErrors adds a key error and the ones it carries in Also, flattened.
func appendErrors(errs []*Error, err error) []*Error {
	var e *Error
	if !errors.As(err, &e) {
		return append(errs, &Error{Err: err})
	}
	one := *e
	one.Also = nil
	return append(append(errs, &one), e.Also...)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// keyError wraps err with the key path unless a nested decode already did.
func keyError(path string, err error) error {
	var ke *Error
	if errors.As(err, &ke) {
		return err
	}
	return &Error{Key: path, Err: err}
}

func describeJSONError(err error, t reflect.Type, raw json.RawMessage) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err
	}
	want := "a value of type " + t.String()
	switch t.Kind() {
	case reflect.Bool:
		want = "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		want = "an integer"
	case reflect.String:
		want = "a string"
	case reflect.Slice:
		want = "a list"
	}
	return fmt.Errorf("want %s, got %s", want, brief(raw))
}

// brief renders a value for an error message without flooding it.
func brief(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// decodeStrictObject decodes one mapping that must not hold unknown keys.
func decodeStrictObject(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

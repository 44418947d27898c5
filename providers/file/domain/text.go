package domain

import (
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Limits on free-form client text. They keep files small and error messages readable.
const (
	// MaxNameLen matches the longest Kubernetes object name, since VM names come from
	// Kubernetes objects.
	MaxNameLen = 253
	// MaxLabelLen bounds short free text (snapshot names, image template names).
	MaxLabelLen = 253
	// MaxTextLen bounds long free text (descriptions, image URLs).
	MaxTextLen = 4096
	// MaxTags and MaxTagLen bound the tags of a VM.
	MaxTags   = 64
	MaxTagLen = 253
)

// ValidateName checks a VM name: 1 to MaxNameLen characters, ASCII letters, digits, '-', '_'
// and '.', starting with a letter or digit. Names are never used in file paths (files are
// named by id); the rule keeps names printable and unambiguous in logs and listings.
func ValidateName(name string) error {
	if name == "" {
		return InvalidArgument("name is required")
	}
	if len(name) > MaxNameLen {
		return InvalidArgument("name is %d bytes long, at most %d are allowed", len(name), MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i == 0 && !alnum {
			return InvalidArgument("name %s must start with a letter or digit", quoteShort(name))
		}
		if !alnum && c != '-' && c != '_' && c != '.' {
			// Name the whole character, not its first byte (a UTF-8 "é" is two bytes).
			what := quote(string(rune(c)))
			if r, size := utf8.DecodeRuneInString(name[i:]); c >= utf8.RuneSelf && (r != utf8.RuneError || size != 1) {
				what = quote(string(r))
			} else if c >= utf8.RuneSelf {
				what = fmt.Sprintf("the byte 0x%02x (not UTF-8)", c)
			}
			return InvalidArgument("name %s contains %s: only letters, digits, '-', '_' and '.' are allowed",
				quoteShort(name), what)
		}
	}
	return nil
}

// ValidateText checks optional free text: valid UTF-8, no control characters, at most max
// bytes. what names the field in the error.
func ValidateText(what, s string, max int) error {
	if len(s) > max {
		return InvalidArgument("%s is %d bytes long, at most %d are allowed", what, len(s), max)
	}
	if !utf8.ValidString(s) {
		return InvalidArgument("%s is not valid UTF-8", what)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return InvalidArgument("%s contains a control character", what)
		}
	}
	return nil
}

// ValidateTags checks the tags of a VM.
func ValidateTags(tags []string) error {
	if len(tags) > MaxTags {
		return InvalidArgument("%d tags given, at most %d are allowed", len(tags), MaxTags)
	}
	for i, t := range tags {
		if t == "" {
			return InvalidArgument("tag %d is empty", i)
		}
		if err := ValidateText("tag "+strconv.Itoa(i), t, MaxTagLen); err != nil {
			return err
		}
	}
	return nil
}

func quote(s string) string { return strconv.Quote(s) }

package guides

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The runner reads an example's curl command itself rather than running
// curl: the examples then run wherever go test does, without a shell,
// and nothing in a guide can run anything but one HTTP request.

// Request is a curl command line as an HTTP request.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   string
}

// ParseCurl reads one curl command: words split and quoted as a POSIX
// shell does ('…' literal, "…" and bare words expanding $NAME and
// ${NAME} from vars), lines joined by a trailing backslash, a # comment
// or a pipe (| jq …, which shapes only what the reader sees) ending it.
// The options understood are those the guides use: -X, -H, -d and its
// --data forms, --data-urlencode with -G, -u, --json, and the output
// options -s, -S, -i, -f, -v. base replaces DefaultBase everywhere.
func ParseCurl(command, base string, vars map[string]string) (*Request, error) {
	words, err := shellWords(strings.ReplaceAll(command, DefaultBase, base), vars)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 || words[0] != "curl" {
		return nil, errors.New("an example is one curl command")
	}
	r := &Request{Header: http.Header{}}
	var data, query []string
	get, dataSeen := false, false
	arg := func(i *int, name string) (string, error) {
		if *i+1 >= len(words) {
			return "", fmt.Errorf("%s wants a value", name)
		}
		*i++
		return words[*i], nil
	}
	for i := 1; i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w, "-") || w == "-" {
			if r.URL != "" {
				return nil, fmt.Errorf("a second URL %q: one request per example", w)
			}
			r.URL = w
			continue
		}
		opts := []string{w}
		if !strings.HasPrefix(w, "--") && len(w) > 2 {
			// Short options run together (-sSi, -su user:pass).
			opts = nil
			for j := 1; j < len(w); j++ {
				o := "-" + w[j:j+1]
				if strings.Contains("XHduo", w[j:j+1]) && j+1 < len(w) {
					words = append(words[:i+1], append([]string{w[j+1:]}, words[i+1:]...)...)
					opts = append(opts, o)
					break
				}
				opts = append(opts, o)
			}
		}
		for _, o := range opts {
			switch o {
			case "-s", "--silent", "-S", "--show-error", "-i", "--include", "-f", "--fail", "-v", "--verbose", "--fail-with-body":
			case "-X", "--request":
				v, err := arg(&i, o)
				if err != nil {
					return nil, err
				}
				r.Method = v
			case "-H", "--header":
				v, err := arg(&i, o)
				if err != nil {
					return nil, err
				}
				name, value, ok := strings.Cut(v, ":")
				if !ok || strings.TrimSpace(name) == "" {
					return nil, fmt.Errorf("header %q: want Name: value", v)
				}
				r.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
			case "-d", "--data", "--data-raw", "--data-binary", "--data-ascii":
				v, err := arg(&i, o)
				if err != nil {
					return nil, err
				}
				if strings.HasPrefix(v, "@") && o != "--data-raw" {
					return nil, fmt.Errorf("%s %s: an example carries its body inline", o, v)
				}
				data, dataSeen = append(data, v), true
			case "--data-urlencode":
				v, err := arg(&i, o)
				if err != nil {
					return nil, err
				}
				name, value, ok := strings.Cut(v, "=")
				if !ok {
					data = append(data, url.QueryEscape(v))
				} else {
					data = append(data, name+"="+url.QueryEscape(value))
				}
				dataSeen = true
			case "--json":
				v, err := arg(&i, o)
				if err != nil {
					return nil, err
				}
				data, dataSeen = append(data, v), true
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Accept", "application/json")
			case "-G", "--get":
				get = true
			case "-u", "--user":
				v, err := arg(&i, o)
				if err != nil {
					return nil, err
				}
				r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(v)))
			default:
				return nil, fmt.Errorf("curl option %s: the example runner does not know it", o)
			}
		}
	}
	if r.URL == "" {
		return nil, errors.New("the curl command names no URL")
	}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("URL %q: want an absolute http URL", r.URL)
	}
	if get {
		query = data
		data, dataSeen = nil, false
	}
	if len(query) > 0 {
		sep := "?"
		if strings.Contains(r.URL, "?") {
			sep = "&"
		}
		r.URL += sep + strings.Join(query, "&")
	}
	r.Body = strings.Join(data, "&")
	switch {
	case r.Method != "":
	case dataSeen:
		r.Method = http.MethodPost
	default:
		r.Method = http.MethodGet
	}
	if dataSeen && r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return r, nil
}

// HTTP returns the request to send.
func (r *Request) HTTP() (*http.Request, error) {
	var body io.Reader
	if r.Body != "" || r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequest(r.Method, r.URL, body)
	if err != nil {
		return nil, err
	}
	req.Header = r.Header.Clone()
	return req, nil
}

// shellWords splits a command as a POSIX shell would, for the subset the
// guides use.
func shellWords(s string, vars map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	end := func() {
		if inWord {
			words = append(words, cur.String())
		}
		cur.Reset()
		inWord = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] == '\n':
			i++
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(s[i+1])
			inWord = true
			i++
		case c == ' ' || c == '\t' || c == '\n':
			end()
			if c == '\n' && len(words) > 0 {
				if rest := strings.TrimSpace(s[i:]); rest != "" && !strings.HasPrefix(rest, "#") && !strings.HasPrefix(rest, "|") {
					return nil, errors.New("one command per example (a second line does not continue the first with \\)")
				}
			}
		case c == '#' && !inWord:
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '|' || c == ';' || c == '&' || c == '>' || c == '<' || c == '`':
			if c != '|' {
				return nil, fmt.Errorf("%q: an example is one curl command, without redirection or command lists", c)
			}
			end()
			return words, nil
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("an unclosed ' quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				switch {
				case s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0:
					cur.WriteByte(s[i+1])
					i++
				case s[i] == '$':
					n, err := expand(s, &i, vars, &cur)
					if err != nil {
						return nil, err
					}
					_ = n
				default:
					cur.WriteByte(s[i])
				}
			}
			if i >= len(s) {
				return nil, errors.New(`an unclosed " quote`)
			}
			inWord = true
		case c == '$':
			if _, err := expand(s, &i, vars, &cur); err != nil {
				return nil, err
			}
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	end()
	return words, nil
}

// expand writes the value of the variable at s[*i] ('$') and leaves *i on
// its last byte.
func expand(s string, i *int, vars map[string]string, out *strings.Builder) (int, error) {
	j := *i + 1
	if j < len(s) && s[j] == '(' {
		return 0, errors.New("$(…): the runner substitutes no commands; set a variable in the guide's text and name it")
	}
	braced := j < len(s) && s[j] == '{'
	if braced {
		j++
	}
	k := j
	for k < len(s) && (s[k] == '_' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= 'a' && s[k] <= 'z' || k > j && s[k] >= '0' && s[k] <= '9') {
		k++
	}
	name := s[j:k]
	if braced {
		if k >= len(s) || s[k] != '}' {
			return 0, errors.New("${…} is not closed")
		}
		k++
	}
	if name == "" {
		out.WriteByte('$')
		return 0, nil
	}
	v, ok := vars[name]
	if !ok {
		return 0, fmt.Errorf("$%s is not set: an earlier example's expect block sets it with -> %s", name, name)
	}
	out.WriteString(v)
	*i = k - 1
	return len(v), nil
}

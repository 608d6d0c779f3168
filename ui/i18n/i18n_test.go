package i18n

import "testing"

func TestIn(t *testing.T) {
	for _, tt := range []struct {
		text Text
		lang Lang
		want string
	}{
		{Text{EN: "Sale", ZH: "消费"}, English, "Sale"},
		{Text{EN: "Sale", ZH: "消费"}, Chinese, "消费"},
		{Text{EN: "Manage"}, Chinese, "Manage"},
		{Text{EN: "Sale", ZH: "消费"}, Lang("fr"), "Sale"},
	} {
		if got := tt.text.In(tt.lang); got != tt.want {
			t.Errorf("%+v.In(%q) = %q; want %q", tt.text, tt.lang, got, tt.want)
		}
	}
}

func TestBoth(t *testing.T) {
	for _, tt := range []struct {
		text Text
		want string
	}{
		{Text{EN: "SALE", ZH: "消费"}, "消费 SALE"},
		{Text{EN: "SALE"}, "SALE"},
	} {
		if got := tt.text.Both(); got != tt.want {
			t.Errorf("%+v.Both() = %q; want %q", tt.text, got, tt.want)
		}
	}
}

func TestParseLang(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Lang
		ok   bool
	}{
		{"zh", Chinese, true},
		{"en", English, true},
		{"EN", "", false},
		{"", "", false},
		{"zh-CN", "", false},
	} {
		if got, ok := ParseLang(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("ParseLang(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseLang(f *testing.F) {
	for _, s := range []string{"zh", "en", "", "xx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, ok := ParseLang(s)
		if ok != (l != "") || ok && string(l) != s {
			t.Errorf("ParseLang(%q) = %q, %v; want the language itself or nothing", s, l, ok)
		}
	})
}

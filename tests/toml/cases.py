#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""pylock TOML conformance cases, section by section of the TOML 1.0 spec.

  cases.py gen            write valid/NAME.toml + NAME.json (expected toml-test
                          JSON, computed with Python's tomllib) and invalid/NAME.toml
  cases.py check DECODER  cross-check: run a toml-test decoder on every case and
                          compare with tomllib (valid: same JSON; invalid: rejected)
  cases.py diff DECODER DIR...
                          differential run over arbitrary inputs (e.g. a fuzzing
                          corpus); prints disagreements tomllib's known departures
                          (unbounded ints, microsecond truncation, BOM) do not explain

The JSON uses pylock's canonical spelling so the C unit test can compare bytes:
floats shortest round-trip %g (".0" added), date/times with 'T', 'Z' for a
zero offset and the fraction without trailing zeros.
"""
import datetime
import math
import os
import subprocess
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))

V = []  # (name, bytes) accepted documents
I = []  # (name, bytes) rejected documents


def valid(name, text):
    V.append((name, text.encode() if isinstance(text, str) else text))


def invalid(name, text):
    I.append((name, text.encode() if isinstance(text, str) else text))


# --- comments, whitespace, newlines -------------------------------------------
valid("comment-everywhere", "# c\na = 1 # c\n[t] # c\nb = [ # c\n 1, # c\n] # c\n")
valid("comment-empty-document", "# only a comment")
valid("empty-document", "")
valid("whitespace-only", " \t\n\n \t")
valid("crlf-newlines", "a = 1\r\nb = 2\r\n[t]\r\nc = 3\r\n")
valid("no-final-newline", "a = 1")
valid("comment-with-tab-and-unicode", "a = 1 #\ttab ünïcödé 😀\n")
valid("bom-less-utf8-key-values", 'a = "€"\n')
invalid("comment-control-char", "a = 1 # \x01\n")
invalid("comment-del", "a = 1 # \x7f\n")
invalid("comment-lone-cr", "a = 1 # x\rb = 2\n")
invalid("lone-cr", "a = 1\rb = 2\n")
invalid("nul-in-document", b"a = 1\x00\n")
invalid("invalid-utf8-in-comment", b"# \xff\n")
invalid("invalid-utf8-in-string", b'a = "\xc3\x28"\n')
invalid("overlong-utf8", b'a = "\xc0\xaf"\n')
invalid("utf8-surrogate", b'a = "\xed\xa0\x80"\n')
invalid("utf8-above-max", b'a = "\xf4\x90\x80\x80"\n')
invalid("utf8-truncated", b'a = "\xe2\x82"\n')

# --- key/value pairs ---------------------------------------------------------
valid("keyval-spaces-around", "a=1\n b =2\n\tc\t=\t3\n")
invalid("keyval-no-value", "a =\n")
invalid("keyval-no-equals", "a 1\n")
invalid("keyval-two-on-a-line", "a = 1 b = 2\n")
invalid("keyval-newline-before-value", "a =\n1\n")
invalid("keyval-newline-after-key", "a\n= 1\n")
invalid("keyval-only-key", "a\n")
invalid("keyval-value-then-garbage", "a = 1x\n")

# --- keys --------------------------------------------------------------------
valid("key-bare-chars", "A-z_0-9 = 1\n1234 = 2\n-_- = 3\n")
valid("key-quoted", '"a b" = 1\n"ʎǝʞ" = 2\n"quoted \\"x\\"" = 3\n')
valid("key-literal", "'a\"b' = 1\n'c\\d' = 2\n")
valid("key-empty-quoted", '"" = 1\n')
valid("key-empty-literal", "'' = 1\n")
valid("key-dotted", 'a.b.c = 1\na.b.d = 2\na."e.f" = 3\n')
valid("key-dotted-whitespace", "a . b\t.\tc = 1\n")
valid("key-numeric-dotted", "3.14159 = 'pi'\n")
valid("key-same-name-different-tables", "[a]\nx = 1\n[b]\nx = 2\n")
valid("key-escape-equivalent", '"\\u0061" = 1\nb = 2\n')
valid("key-dotted-then-subtable", "[fruit]\napple.color = 'red'\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true\n")
valid("key-bare-looks-like-bool", "true = 1\nfalse = 2\ninf = 3\nnan = 4\n")
valid("key-dotted-quoted-parts", "'a'.\"b\".c = 1\n")
invalid("key-duplicate", "a = 1\na = 2\n")
invalid("key-duplicate-quoted", 'a = 1\n"a" = 2\n')
invalid("key-duplicate-escape", 'a = 1\n"\\u0061" = 2\n')
invalid("key-empty-bare", " = 1\n")
invalid("key-space-in-bare", "a b = 1\n")
invalid("key-dot-at-start", ".a = 1\n")
invalid("key-dot-at-end", "a. = 1\n")
invalid("key-double-dot", "a..b = 1\n")
invalid("key-multiline-basic", '"""a""" = 1\n')
invalid("key-multiline-literal", "'''a''' = 1\n")
invalid("key-non-ascii-bare", "ü = 1\n")
invalid("key-hash-in-bare", "a#b = 1\n")
invalid("key-dotted-redefines-value", "a = 1\na.b = 2\n")
invalid("key-dotted-then-plain", "a.b = 1\na = 2\n")
invalid("key-open-quote", '"a = 1\n')
invalid("key-newline-in-quoted", '"a\nb" = 1\n')

# --- strings -----------------------------------------------------------------
valid("string-basic", 'a = "hello"\n')
valid("string-empty", "a = \"\"\nb = ''\n")
valid("string-escapes", r'a = "\b\t\n\f\r\"\\"' + "\n")
valid("string-escape-u", r'a = "\u00e9\u20AC\u0000"' + "\n")
valid("string-escape-big-u", r'a = "\U0001F600\U00000041"' + "\n")
valid("string-unicode-raw", 'a = "日本語 😀"\n')
valid("string-tab-raw", 'a = "a\tb"\n')
valid("string-hash-inside", 'a = "# not a comment"\n')
valid("string-literal", r"a = 'C:\Users\nodejs\templates'" + "\n")
valid("string-literal-quotes", "a = 'Tom \"Dubs\" Preston'\n")
valid("string-ml-basic", 'a = """\nRoses are red\nViolets are blue"""\n')
valid("string-ml-basic-first-newline-crlf", 'a = """\r\nx\r\ny"""\r\n')
valid("string-ml-basic-no-first-newline", 'a = """x\n"""\n')
valid("string-ml-line-ending-backslash", 'a = """\\\n  The quick \\\n\n   brown fox.\\\n   """\n')
valid("string-ml-backslash-trailing-space", 'a = """a \\  \t\n   b"""\n')
valid("string-ml-backslash-crlf", 'a = """a\\\r\n   b"""\n')
valid("string-ml-quotes-inside", 'a = """x "" y "" z"""\n')
valid("string-ml-one-quote-before-end", 'a = """x""""\n')
valid("string-ml-two-quotes-before-end", 'a = """x"""""\n')
valid("string-ml-only-quotes", 'a = """"""""\n')
valid("string-ml-escapes", 'a = """\\t\\u00e9\\"\\\\"""\n')
valid("string-ml-tab", 'a = """\tx\t"""\n')
valid("string-ml-empty", 'a = """"""\n')
valid("string-ml-literal", "a = '''\nThe first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved. \\n\n'''\n")
valid("string-ml-literal-quotes", "a = '''x '' y''''\n")
valid("string-ml-literal-five-quotes", "a = '''''x'''''\n")
valid("string-ml-literal-crlf", "a = '''\r\nx\r\ny'''\r\n")
valid("string-escape-del-as-u", r'a = "\u007F"' + "\n")
invalid("string-unterminated", 'a = "abc\n')
invalid("string-unterminated-eof", 'a = "abc')
invalid("string-literal-unterminated", "a = 'abc\n")
invalid("string-ml-unterminated", 'a = """abc\n')
invalid("string-ml-literal-unterminated", "a = '''abc\n")
invalid("string-bad-escape", r'a = "\x41"' + "\n")
invalid("string-bad-escape-e", r'a = "\e"' + "\n")
invalid("string-bad-escape-space", r'a = "\ "' + "\n")
invalid("string-u-short", r'a = "\u12"' + "\n")
invalid("string-u-nonhex", r'a = "\u12G4"' + "\n")
invalid("string-big-u-short", r'a = "\U0001F60"' + "\n")
invalid("string-u-surrogate", r'a = "\uD800"' + "\n")
invalid("string-big-u-too-big", r'a = "\U00110000"' + "\n")
invalid("string-control-char", 'a = "\x01"\n')
invalid("string-del", 'a = "\x7f"\n')
invalid("string-literal-control-char", "a = '\x1f'\n")
invalid("string-newline-in-basic", 'a = "a\nb"\n')
invalid("string-cr-in-basic", 'a = "a\rb"\n')
invalid("string-ml-control-char", 'a = """\x00"""\n')
invalid("string-ml-lone-cr", 'a = """a\rb"""\n')
invalid("string-ml-six-quotes-end", 'a = """x""""""\n')
invalid("string-ml-literal-six-quotes-end", "a = '''x''''''\n")
invalid("string-ml-backslash-space-no-newline", 'a = """a\\ b"""\n')
invalid("string-ml-literal-control-char", "a = '''\x08'''\n")
invalid("string-literal-newline", "a = 'a\nb'\n")
invalid("string-missing-quote-close", "a = \"x'\n")
invalid("string-text-after", 'a = "x" y\n')

# --- integers ----------------------------------------------------------------
valid("integer-decimal", "a = 99\nb = 42\nc = 0\nd = -17\ne = +17\n")
valid("integer-zero-signed", "a = +0\nb = -0\n")
valid("integer-underscores", "a = 1_000\nb = 5_349_221\nc = 1_2_3_4_5\n")
valid("integer-hex", "a = 0xDEADBEEF\nb = 0xdeadbeef\nc = 0xdead_beef\nd = 0x00ff\n")
valid("integer-octal", "a = 0o01234567\nb = 0o755\nc = 0o7_7\n")
valid("integer-binary", "a = 0b11010110\nb = 0b1_0\nc = 0b0000\n")
valid("integer-max", "a = 9223372036854775807\n")
valid("integer-min", "a = -9223372036854775808\n")
valid("integer-hex-max", "a = 0x7FFFFFFFFFFFFFFF\n")
invalid("integer-overflow", "a = 9223372036854775808\n")
invalid("integer-underflow", "a = -9223372036854775809\n")
invalid("integer-hex-overflow", "a = 0x8000000000000000\n")
invalid("integer-leading-zero", "a = 01\n")
invalid("integer-leading-zero-signed", "a = -01\n")
invalid("integer-leading-zero-underscore", "a = 0_1\n")
invalid("integer-double-underscore", "a = 1__0\n")
invalid("integer-leading-underscore", "a = _1\n")
invalid("integer-trailing-underscore", "a = 1_\n")
invalid("integer-hex-signed", "a = +0xFF\n")
invalid("integer-hex-uppercase-x", "a = 0XFF\n")
invalid("integer-hex-empty", "a = 0x\n")
invalid("integer-hex-underscore-first", "a = 0x_1\n")
invalid("integer-octal-bad-digit", "a = 0o8\n")
invalid("integer-binary-bad-digit", "a = 0b2\n")
invalid("integer-sign-only", "a = +\n")
invalid("integer-double-sign", "a = --1\n")
invalid("integer-text-after", "a = 123abc\n")
invalid("integer-hex-negative", "a = -0x1\n")

# --- floats ------------------------------------------------------------------
valid("float-fraction", "a = 1.0\nb = 3.1415\nc = -0.01\nd = +0.5\n")
valid("float-exponent", "a = 5e+22\nb = 1e06\nc = -2E-2\nd = 1e-05\n")
valid("float-both", "a = 6.626e-34\n")
valid("float-underscores", "a = 224_617.445_991_228\nb = 1e1_0\n")
valid("float-zero-variants", "a = 0.0\nb = +0.0\nc = -0.0\nd = 0e0\ne = 0E+0\n")
valid("float-inf-nan", "a = inf\nb = +inf\nc = -inf\nd = nan\ne = +nan\nf = -nan\n")
valid("float-exponent-leading-zeros", "a = 1e007\n")
valid("float-large", "a = 1.7976931348623157e308\nb = 1e15\nc = 123456789012345678.0\n")
valid("float-small", "a = 5e-324\nb = 0.000001\nc = 2.2250738585072014e-308\n")
valid("float-rounding", "a = 0.1\nb = 0.30000000000000004\nc = 100.0\n")
invalid("float-no-int-part", "a = .5\n")
invalid("float-no-frac-digits", "a = 5.\n")
invalid("float-dot-exp", "a = 1.e5\n")
invalid("float-leading-zero", "a = 03.14\n")
invalid("float-double-dot", "a = 1.2.3\n")
invalid("float-exp-empty", "a = 1e\n")
invalid("float-exp-sign-only", "a = 1e+\n")
invalid("float-underscore-before-dot", "a = 1_.5\n")
invalid("float-underscore-after-dot", "a = 1._5\n")
invalid("float-underscore-before-exp", "a = 1_e5\n")
invalid("float-inf-uppercase", "a = Inf\n")
invalid("float-nan-uppercase", "a = NaN\n")
invalid("float-infinity", "a = infinity\n")
invalid("float-exp-dot", "a = 1e2.5\n")
invalid("float-leading-zero-exp-int", "a = 00e1\n")

# --- booleans ----------------------------------------------------------------
valid("bool", "t = true\nf = false\n")
invalid("bool-uppercase", "a = True\n")
invalid("bool-truncated", "a = tru\n")
invalid("bool-trailing", "a = truee\n")

# --- date/times --------------------------------------------------------------
valid("datetime-offset", "a = 1979-05-27T07:32:00Z\nb = 1979-05-27T00:32:00-07:00\nc = 1979-05-27T00:32:00.999999+05:30\n")
valid("datetime-space-separator", "a = 1979-05-27 07:32:00Z\n")
valid("datetime-lowercase", "a = 1979-05-27t07:32:00z\n")
valid("datetime-local", "a = 1979-05-27T07:32:00\nb = 1979-05-27T00:32:00.5\n")
valid("date-local", "a = 1979-05-27\n")
valid("time-local", "a = 07:32:00\nb = 00:32:00.123456\nc = 23:59:59\n")
valid("datetime-leap-day", "a = 2000-02-29\nb = 2024-02-29T12:00:00Z\n")
valid("datetime-zero-offset", "a = 1979-05-27T07:32:00+00:00\nb = 1979-05-27T07:32:00-00:00\n")
valid("datetime-fraction-trailing-zeros", "a = 1979-05-27T07:32:00.100Z\nb = 07:32:00.000\n")
valid("datetime-in-array", "a = [1979-05-27, 07:32:00, 1979-05-27T07:32:00Z]\n")
valid("date-then-comment", "a = 1979-05-27 # comment\n")
invalid("datetime-no-seconds", "a = 1979-05-27T07:32Z\n")
invalid("time-no-seconds", "a = 07:32\n")
invalid("datetime-month-13", "a = 1979-13-01\n")
invalid("datetime-month-0", "a = 1979-00-01\n")
invalid("datetime-day-0", "a = 1979-05-00\n")
invalid("datetime-day-32", "a = 1979-01-32\n")
invalid("datetime-feb-30", "a = 2024-02-30\n")
invalid("datetime-feb-29-non-leap", "a = 2023-02-29\n")
invalid("datetime-feb-29-1900", "a = 1900-02-29\n")
invalid("datetime-hour-24", "a = 24:00:00\n")
invalid("datetime-minute-60", "a = 00:60:00\n")
invalid("datetime-second-60", "a = 00:00:60\n")
invalid("datetime-short-year", "a = 979-05-27\n")
invalid("datetime-short-month", "a = 1979-5-27\n")
invalid("datetime-short-hour", "a = 1979-05-27T7:32:00\n")
invalid("datetime-empty-fraction", "a = 1979-05-27T07:32:00.\n")
invalid("datetime-bad-offset", "a = 1979-05-27T07:32:00+7:00\n")
invalid("datetime-offset-no-minutes", "a = 1979-05-27T07:32:00+07\n")
invalid("datetime-offset-hour-24", "a = 1979-05-27T07:32:00+24:00\n")
invalid("time-with-offset", "a = 07:32:00Z\n")
invalid("date-with-offset", "a = 1979-05-27Z\n")
invalid("datetime-trailing-garbage", "a = 1979-05-27T07:32:00Zx\n")
invalid("datetime-double-t", "a = 1979-05-27TT07:32:00\n")
valid("integer-date-like-underscores", "a = 1979_05_27\n")

# --- arrays ------------------------------------------------------------------
valid("array-integers", "a = [ 1, 2, 3 ]\n")
valid("array-empty", "a = []\nb = [ ]\nc = [\n]\n")
valid("array-mixed-types", "a = [ 0.1, 0.2, 0.5, 1, 2, 5 ]\nb = [ \"all\", 'strings', \"\"\"are the same\"\"\", '''type''' ]\nc = [1, 'a', true, 1979-05-27]\n")
valid("array-nested", "a = [ [ 1, 2 ], [3, 4, 5] ]\nb = [ [ 1, 2 ], [\"a\", \"b\", \"c\"] ]\n")
valid("array-multiline-trailing-comma", "a = [\n  1,\n  2, # c\n]\n")
valid("array-comments-everywhere", "a = [ # c\n # c\n 1 # c\n , # c\n 2 # c\n ] # c\n")
valid("array-of-inline-tables", "points = [ { x = 1, y = 2, z = 3 },\n           { x = 7, y = 8, z = 9 } ]\n")
valid("array-empty-nested", "a = [[], [[]], [[], []]]\n")
valid("array-strings-with-commas", 'a = ["a,b", "]", "["]\n')
valid("array-crlf", "a = [\r\n1,\r\n2\r\n]\r\n")
invalid("array-unclosed", "a = [1, 2\n")
invalid("array-unclosed-eof", "a = [1, 2")
invalid("array-leading-comma", "a = [,1]\n")
invalid("array-double-comma", "a = [1,,2]\n")
invalid("array-only-comma", "a = [,]\n")
invalid("array-missing-comma", "a = [1 2]\n")
invalid("array-bad-value", "a = [1, x]\n")
invalid("array-text-after", "a = [1] x\n")
invalid("array-append-static", "a = [1]\n[[a]]\n")
invalid("array-static-as-table", "a = [{b = 1}]\n[a.c]\n")
invalid("array-close-only", "a = ]\n")

# --- inline tables -----------------------------------------------------------
valid("inline-table", 'name = { first = "Tom", last = "Preston-Werner" }\npoint = { x = 1, y = 2 }\nanimal = { type.name = "pug" }\n')
valid("inline-table-empty", "a = {}\nb = { }\n")
valid("inline-table-nested", "a = { b = { c = { d = 1 } }, e = [ { f = 2 } ] }\n")
valid("inline-table-dotted-keys", "a = { b.c = 1, b.d = 2, e.f.g = 3 }\n")
valid("inline-table-array-multiline-inside", "a = { b = [\n1,\n2\n] }\n")
valid("inline-table-key-types", "a = { \"q k\" = 1, 'l' = 2, 3 = 3 }\n")
valid("inline-table-pep751-hashes", 'hashes = {sha256 = "c75a69e28a550a7e93789579c22aa26b0f5b83b75dc4e08fe092980051e1fa1a"}\n')
invalid("inline-table-trailing-comma", "a = { b = 1, }\n")
invalid("inline-table-newline", "a = { b = 1,\n c = 2 }\n")
invalid("inline-table-newline-after-brace", "a = {\n}\n")
invalid("inline-table-duplicate-key", "a = { b = 1, b = 2 }\n")
invalid("inline-table-double-comma", "a = { b = 1,, c = 2 }\n")
invalid("inline-table-missing-comma", "a = { b = 1 c = 2 }\n")
invalid("inline-table-unclosed", "a = { b = 1\n")
invalid("inline-table-extend-by-header", "a = { b = 1 }\n[a]\nc = 2\n")
invalid("inline-table-extend-by-subheader", "a = { b = 1 }\n[a.c]\n")
invalid("inline-table-extend-by-dotted", "a = { b = 1 }\na.c = 2\n")
invalid("inline-table-nested-extend-by-dotted", "a = { b = { c = 1 } }\na.b.d = 2\n")
invalid("inline-table-inner-frozen", "a = { b = { c = 1 }, b.d = 2 }\n")
invalid("inline-table-in-array-extend", "a = [{ b = 1 }]\n[[a]]\n")
invalid("inline-table-dotted-overwrite", "a = { b.c = 1, b = 2 }\n")
invalid("inline-table-comment", "a = { b = 1 # c\n}\n")
invalid("inline-table-aot-header-into", "[t]\na = { b = [] }\n[[t.a.b]]\n")

# --- tables ------------------------------------------------------------------
valid("table-basic", "[table-1]\nkey1 = \"some string\"\nkey2 = 123\n[table-2]\nkey1 = \"another string\"\nkey2 = 456\n")
valid("table-empty", "[a]\n")
valid("table-dotted-header", '[dog."tater.man"]\ntype.name = "pug"\n')
valid("table-header-whitespace", "[ a . b ]\n[ d.e.f ]\n[ g .  h  . i ]\n[ j . \"ʞ\" . 'l' ]\n")
valid("table-implicit-then-explicit", "[x.y.z.w]\na = 1\n[x]\nb = 2\n")
valid("table-implicit-parents", "[a.b.c]\nd = 1\n")
valid("table-subtable-after", "[a]\nb = 1\n[a.c]\nd = 2\n")
valid("table-out-of-order", "[fruit.apple]\n[animal]\n[fruit.orange]\n")
valid("table-root-keys-first", "a = 1\n[t]\nb = 2\n")
valid("table-header-through-dotted", "[a]\nb.c = 1\n[a.b.d]\ne = 2\n")
valid("table-header-comment", "[a] # c\nb = 1\n")
valid("table-keys-like-numbers", "[1]\n[1.2]\n[-]\n")
valid("table-dotted-at-root-then-subheader", "a.b = 1\n[a.c]\nd = 2\n")
invalid("table-defined-twice", "[a]\nb = 1\n[a]\nc = 2\n")
invalid("table-defined-twice-empty", "[a]\n[a]\n")
invalid("table-defined-twice-after-sub", "[a]\n[a.b]\n[a]\n")
invalid("table-implicit-explicit-twice", "[a.b]\n[a]\n[a]\n")
invalid("table-over-value", "a = 1\n[a]\n")
invalid("table-over-value-nested", "[a]\nb = 1\n[a.b]\n")
invalid("table-under-value", "a = 1\n[a.b]\n")
invalid("table-over-dotted", "a.b = 1\n[a]\n")
invalid("table-over-dotted-nested", "[fruit]\napple.color = 'red'\n[fruit.apple]\n")
invalid("table-dotted-into-header-table", "[a.b.c]\nz = 1\n[a]\nb.c.t = 9\n")
invalid("table-dotted-into-header-table-2", "[a.b]\nx = 1\n[a]\nb.y = 2\n")
invalid("table-dotted-defines-header-key", "[a]\nb.c = 1\n[a.b]\n")
invalid("table-empty-name", "[]\n")
invalid("table-empty-part", "[a..b]\n")
invalid("table-unclosed", "[a\nb = 1\n")
invalid("table-text-after-header", "[a] b = 1\n")
invalid("table-nested-brackets", "[a[b]]\n")
invalid("table-newline-in-header", "[a\n]\n")
invalid("table-over-aot", "[[a]]\n[a]\n")
invalid("table-space-in-bare-header", "[a b]\n")
invalid("table-quoted-dup", '[a]\n["a"]\n')
invalid("table-key-dup-with-table", "[a]\nb = 1\n[a.b.c]\n")
invalid("table-open-bracket-only", "[\n")

# --- arrays of tables --------------------------------------------------------
valid("aot-basic", '[[products]]\nname = "Hammer"\nsku = 738594937\n\n[[products]]\n\n[[products]]\nname = "Nail"\nsku = 284758393\ncolor = "gray"\n')
valid("aot-nested", '[[fruits]]\nname = "apple"\n[fruits.physical]\ncolor = "red"\nshape = "round"\n[[fruits.varieties]]\nname = "red delicious"\n[[fruits.varieties]]\nname = "granny smith"\n[[fruits]]\nname = "banana"\n[[fruits.varieties]]\nname = "plantain"\n')
valid("aot-pep751-lock", '''lock-version = "1.0"
created-by = "pylock"
requires-python = ">=3.12"

[[packages]]
name = "attrs"
version = "25.1.0"
index = "https://pypi.org/simple"

[[packages.wheels]]
name = "attrs-25.1.0-py3-none-any.whl"
upload-time = 2025-01-25T11:30:10.164985+00:00
url = "https://files.pythonhosted.org/packages/attrs-25.1.0-py3-none-any.whl"
size = 63152
hashes = {sha256 = "c75a69e28a550a7e93789579c22aa26b0f5b83b75dc4e08fe092980051e1fa1a"}

[[packages]]
name = "numpy"
version = "2.2.3"
wheels = [
  {name = "numpy-2.2.3-cp312-cp312-manylinux_2_17_x86_64.whl", size = 1, hashes = {sha256 = "ab"}},
]

[tool.pylock]
requested = ["attrs", "numpy>=2"]
''')
valid("aot-subtable-of-element", "[[a]]\n[a.b]\nc = 1\n[[a]]\n[a.b]\nc = 2\n")
valid("aot-implicit-parent", "[[a.b]]\nc = 1\n[[a.b]]\nc = 2\n")
valid("aot-dotted-in-element", "[[a]]\nb.c = 1\n[[a]]\nb.c = 2\n")
valid("aot-under-dotted", "[t]\na.b = 1\n[[t.a.c]]\nd = 2\n")
valid("aot-empty-elements", "[[a]]\n[[a]]\n")
invalid("aot-over-table", "[a]\n[[a]]\n")
invalid("aot-over-value", "a = 1\n[[a]]\n")
invalid("aot-over-static-array", "a = []\n[[a]]\n")
invalid("aot-unclosed", "[[a]\n")
invalid("aot-space-between-brackets", "[[a] ]\n")
invalid("aot-space-between-open-brackets", "[ [a]]\n")
invalid("aot-over-implicit", "[a.b]\n[[a]]\n")
invalid("aot-element-table-twice", "[[a]]\n[a.b]\n[a.b]\n")
invalid("aot-over-dotted", "a.b = 1\n[[a]]\n")
invalid("aot-element-dotted-redefined", "[[a]]\nb.c = 1\n[a.b]\n")
invalid("aot-triple-bracket", "[[[a]]]\n")

# --- document-level ----------------------------------------------------------
invalid("stray-closing-bracket", "]\n")
invalid("stray-equals", "= 1\n")
invalid("value-without-key", "1\n")
invalid("garbage-unicode", "é\n")


# Where tomllib departs from TOML 1.0 ("If an integer cannot be represented
# losslessly [in 64 bits], an error must be thrown"): Python ints are unbounded.
TOMLLIB_DEPARTS = {
    "integer-overflow", "integer-underflow", "integer-hex-overflow",
}


def tagged(v):
    """tomllib value -> toml-test JSON, in pylock's canonical spelling."""
    if isinstance(v, dict):
        return "{" + ",".join(jstr(k) + ":" + tagged(x) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(tagged(x) for x in v) + "]"
    if isinstance(v, bool):
        return scalar("bool", "true" if v else "false")
    if isinstance(v, int):
        return scalar("integer", str(v))
    if isinstance(v, float):
        return scalar("float", cfloat(v))
    if isinstance(v, str):
        return '{"type":"string","value":' + jstr(v) + "}"
    if isinstance(v, datetime.datetime):
        text = v.strftime("%Y-%m-%dT") + ctime(v)
        if v.tzinfo is None:
            return scalar("datetime-local", text)
        off = int(v.utcoffset().total_seconds() // 60)
        text += "Z" if off == 0 else "%s%02d:%02d" % ("-" if off < 0 else "+", abs(off) // 60, abs(off) % 60)
        return scalar("datetime", text)
    if isinstance(v, datetime.date):
        return scalar("date-local", v.isoformat())
    if isinstance(v, datetime.time):
        return scalar("time-local", ctime(v))
    raise TypeError(type(v))


def scalar(t, s):
    return '{"type":"%s","value":%s}' % (t, jstr(s))


def ctime(t):
    s = "%02d:%02d:%02d" % (t.hour, t.minute, t.second)
    if t.microsecond:
        s += ("." + "%06d" % t.microsecond).rstrip("0")
    return s


def cfloat(f):
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "-inf" if f < 0 else "inf"
    for p in range(1, 18):
        s = "%.*g" % (p, f)
        if float(s) == f:
            break
    return s if ("." in s or "e" in s) else s + ".0"


def jstr(s):
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def tomllib_view(data):
    try:
        return tagged(tomllib.loads(data.decode("utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, ValueError):
        return None


def gen():
    names = [n for n, _ in V] + [n for n, _ in I]
    assert len(names) == len(set(names)), "duplicate case names"
    disagree = 0
    for sub, cases in (("valid", V), ("invalid", I)):
        d = os.path.join(HERE, sub)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))
        for name, data in cases:
            with open(os.path.join(d, name + ".toml"), "wb") as fh:
                fh.write(data)
            expect = tomllib_view(data)
            if sub == "valid":
                if expect is None:
                    print("tomllib rejects valid case", name)
                    disagree += 1
                    continue
                with open(os.path.join(d, name + ".json"), "w", encoding="utf-8") as fh:
                    fh.write(expect + "\n")
            elif expect is not None and name not in TOMLLIB_DEPARTS:
                print("tomllib accepts invalid case", name)
                disagree += 1
    print("%d valid, %d invalid cases written; %d disagree with tomllib" % (len(V), len(I), disagree))
    return 1 if disagree else 0


def check(decoder):
    ok = bad = known = 0
    for sub, cases in (("valid", V), ("invalid", I)):
        for name, data in cases:
            r = subprocess.run([decoder], input=data, capture_output=True)
            want = tomllib_view(data)
            got = r.stdout.decode("utf-8").strip() if r.returncode == 0 else None
            if got == want:
                ok += 1
            elif sub == "invalid" and name in TOMLLIB_DEPARTS and got is None:
                known += 1
            else:
                bad += 1
                print("MISMATCH %s/%s\n  tomllib: %s\n  pylock:  %s%s" % (
                    sub, name, want, got, "" if r.returncode == 0 else " (" + r.stderr.decode().strip() + ")"))
    print("cross-check against tomllib: %d agree, %d differ, %d known tomllib departures from TOML 1.0 "
          "(%d valid, %d invalid cases)" % (ok, bad, known, len(V), len(I)))
    return 1 if bad else 0


def explained(data, got, want):
    """Disagreements due to tomllib, not to pylock."""
    if got is None and b"does not fit in 64 bits" in data:
        return True
    if want is None and data.startswith(b"\xef\xbb\xbf"):
        return True  # pylock skips a leading UTF-8 BOM
    if got is not None and want is not None:
        import re
        trim = lambda t: re.sub(r'(:\d\d\.\d{6})\d+', r'\1', t)
        return trim(got).replace(".000000", "") == trim(want) or re.sub(r'\.(\d*?)0+"', r'.\1"', trim(got)) == want
    return False


def diff(decoder, dirs):
    agree = explained_n = 0
    bad = []
    for d in dirs:
        for f in sorted(os.listdir(d)):
            with open(os.path.join(d, f), "rb") as fh:
                data = fh.read()
            r = subprocess.run([decoder], input=data, capture_output=True)
            got = r.stdout.decode("utf-8").strip() if r.returncode == 0 else None
            want = tomllib_view(data)
            if got == want:
                agree += 1
            elif explained(data + r.stderr, got, want):
                explained_n += 1
            else:
                bad.append((f, data, got, want))
    for f, data, got, want in bad[:20]:
        print("DIFF %s %r\n  tomllib: %s\n  pylock:  %s" % (f, data[:200], want, got))
    print("differential: %d agree, %d explained by tomllib's departures, %d unexplained" % (
        agree, explained_n, len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "diff":
        sys.exit(diff(sys.argv[2], sys.argv[3:]))
    if len(sys.argv) >= 2 and sys.argv[1] == "gen":
        sys.exit(gen())
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    sys.exit(__doc__)

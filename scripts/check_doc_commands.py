#!/usr/bin/env python3
"""Checks the shell commands in every README.md code block (```sh, ```bash, ```shell,
```console) against the build, so that documented commands cannot rot:

  - an `hpo` command (`hpo`, `build/hpo`, `../../hpo`, ...) names a subcommand that exists and
    only flags that subcommand knows: `hpo SUBCOMMAND --help` is run and must list each flag;
  - a path it names (a spec file, a script, a relative program such as `./quickstart-train`)
    exists, relative to the directory the README's blocks have `cd`-ed into so far (the
    repository root at the start of each README; a path under `build/` is looked up in the build
    directory), or else relative to the README's own folder.

Commands are not run (some need a cluster, a browser or minutes); tests/integration runs the
examples' own commands end to end. Exit status 0 when every command passes, 1 otherwise, with
one line per problem: README path, line number, the command and what is wrong.

usage: check_doc_commands.py --source-dir DIR --build-dir DIR [--hpo PATH]
"""
import argparse
import os
import re
import shlex
import subprocess
import sys

SHELL_LANGS = {"sh", "bash", "shell", "console"}
# Arguments that look like files the command reads (not outputs, not globs).
FILE_SUFFIXES = (".json", ".py", ".yaml", ".yml", ".sql", ".cpp", ".h", ".cmake", ".txt",
                 ".sh", ".md")
# Flags whose value is written, not read: never checked for existence.
OUTPUT_FLAGS = {"-o", "--output", "--out", "--html", "-B", "--build", "--dir", "--db"}


def readmes(source_dir):
    for root, dirs, files in os.walk(source_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "build" and
                   not d.startswith("build-")]
        if "README.md" in files:
            yield os.path.join(root, "README.md")


def shell_blocks(text):
    """(line number, command) for every command of every shell code block."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^\s*```+\s*(\w*)", lines[i])
        if not m:
            i += 1
            continue
        lang = m.group(1).lower()
        i += 1
        block = []
        while i < len(lines) and not re.match(r"^\s*```", lines[i]):
            block.append((i + 1, lines[i]))
            i += 1
        i += 1
        if lang in SHELL_LANGS:
            yield block


def commands_of(block):
    """Joins continuation lines and drops prompts, output lines and comments."""
    pending, start = "", 0
    for number, line in block:
        stripped = line.strip()
        if not pending:
            start = number
            if stripped.startswith("$ "):
                stripped = stripped[2:]
            elif stripped.startswith(("#", ">")) or not stripped:
                continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        yield start, pending + stripped
        pending = ""
    if pending:
        yield start, pending


def split_segments(command):
    """Shell words of each simple command in `command` (split at &&, ||, ;, |)."""
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words = list(lexer)
    except ValueError as e:
        return None, str(e)
    segments, current = [], []
    for w in words:
        if w in (";", "&&", "||", "|", "&"):
            if current:
                segments.append(current)
            current = []
        else:
            current.append(w)
    if current:
        segments.append(current)
    return segments, None


class Checker:
    def __init__(self, source_dir, build_dir, hpo):
        self.source = os.path.realpath(source_dir)
        self.build = os.path.realpath(build_dir)
        self.hpo = hpo
        self.help_cache = {}
        self.problems = []

    def help_of(self, sub):
        if sub not in self.help_cache:
            r = subprocess.run([self.hpo, sub, "--help"], capture_output=True, text=True,
                               timeout=60)
            self.help_cache[sub] = r.stdout + r.stderr if r.returncode == 0 else None
        return self.help_cache[sub]

    def locate(self, path, cwd, readme_dir):
        """The real path of `path` as the block would see it, or None."""
        if path.startswith("~") or "$" in path or "*" in path or "{" in path or "<" in path:
            return "skip"
        candidates = [os.path.normpath(os.path.join(cwd, path)),
                      os.path.normpath(os.path.join(readme_dir, path))]
        for c in candidates:
            mapped = c
            build_in_source = os.path.join(self.source, "build")
            if c == build_in_source or c.startswith(build_in_source + os.sep):
                mapped = self.build + c[len(build_in_source):]
            if os.path.exists(mapped):
                return mapped
        return None

    def is_hpo(self, word):
        return word == "hpo" or word.endswith("/hpo")

    def check(self, readme, number, command, cwd):
        where = f"{os.path.relpath(readme, self.source)}:{number}: `{command}`"
        readme_dir = os.path.dirname(readme)
        segments, error = split_segments(command)
        if error:
            self.problems.append(f"{where}: cannot read it ({error})")
            return cwd
        for words in segments:
            while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
                words = words[1:]  # VAR=value prefixes
            if not words:
                continue
            program = words[0]
            if program == "cd":
                if len(words) > 1:
                    target = os.path.normpath(os.path.join(cwd, words[1]))
                    cwd = target
                continue
            if program in ("export", "echo", "sudo", "source", "."):
                continue
            if self.is_hpo(program):
                if "/" in program and self.locate(program, cwd, readme_dir) is None:
                    self.problems.append(f"{where}: no {program} from {os.path.relpath(cwd, self.source)}")
                self.check_hpo(where, words[1:], cwd, readme_dir)
                continue
            if program.startswith("./") or program.startswith("../"):
                if self.locate(program, cwd, readme_dir) is None:
                    self.problems.append(f"{where}: no program {program}")
            self.check_files(where, words[1:], cwd, readme_dir)
        return cwd

    def check_hpo(self, where, args, cwd, readme_dir):
        if not args or args[0].startswith("-"):
            if args and args[0] not in ("--help", "-h", "--version"):
                self.problems.append(f"{where}: hpo needs a subcommand first")
            return
        sub = args[0]
        text = self.help_of(sub)
        if text is None:
            self.problems.append(f"{where}: `hpo {sub} --help` fails: no such subcommand?")
            return
        for a in args[1:]:
            if a.startswith("--"):
                flag = a.split("=", 1)[0]
                if not re.search(re.escape(flag) + r"(?![\w-])", text):
                    self.problems.append(f"{where}: hpo {sub} has no flag {flag}")
        self.check_files(where, args[1:], cwd, readme_dir)

    def check_files(self, where, args, cwd, readme_dir):
        skip_next = False
        for a in args:
            if skip_next:
                skip_next = False
                continue
            if a in OUTPUT_FLAGS or a in (">", ">>", "2>"):
                skip_next = True
                continue
            if a.startswith("-") or "=" in a:
                continue
            if not a.endswith(FILE_SUFFIXES):
                continue
            if self.locate(a, cwd, readme_dir) is None:
                self.problems.append(f"{where}: no file {a} (from {os.path.relpath(cwd, self.source) or '.'})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--hpo", help="the hpo binary (default: BUILD_DIR/hpo)")
    args = parser.parse_args()
    hpo = args.hpo or os.path.join(args.build_dir, "hpo")
    if not os.access(hpo, os.X_OK):
        print(f"check_doc_commands: no hpo binary at {hpo} (build it first)", file=sys.stderr)
        return 2
    checker = Checker(args.source_dir, args.build_dir, hpo)
    count = 0
    for readme in sorted(readmes(checker.source)):
        with open(readme, encoding="utf-8") as f:
            text = f.read()
        cwd = checker.source  # a reader follows a README's blocks in order, cd's included
        for block in shell_blocks(text):
            for number, command in commands_of(block):
                count += 1
                cwd = checker.check(readme, number, command, cwd)
    for p in checker.problems:
        print(p)
    print(f"check_doc_commands: {count} commands checked, {len(checker.problems)} problems")
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main())

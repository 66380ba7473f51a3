// Package term is chant's dealings with a person at a terminal: whether
// one is there, questions, their editor.
package term

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/chant-run/chant/internal/textsafe"
	xterm "golang.org/x/term"
)

// StdinIsTerminal reports whether chant's standard input is a terminal.
func StdinIsTerminal() bool { return xterm.IsTerminal(int(os.Stdin.Fd())) }

// Ask prints a question with its default and reads the answer; an empty
// answer (or none) is the default.
func Ask(in *bufio.Reader, out io.Writer, question, def string) string {
	fmt.Fprintf(out, "%s [%s]: ", question, def)
	line, _ := in.ReadString('\n')
	if line = strings.TrimSpace(line); line != "" {
		return line
	}
	return def
}

// Edit opens path in $VISUAL, else $EDITOR, else vi.
func Edit(path string, stdin io.Reader, stdout, stderr io.Writer) error {
	editor := os.Getenv("VISUAL")
	if editor == "" {
		editor = os.Getenv("EDITOR")
	}
	if editor == "" {
		editor = "vi"
	}
	cmd := exec.Command("sh", "-c", editor+` "$1"`, "sh", path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("%s: %w", editor, err)
		}
		return err
	}
	return nil
}

// Yes asks a question on a terminal; an empty answer is yes.
func Yes(in *bufio.Reader, out io.Writer, question string) bool {
	fmt.Fprint(out, question)
	line, _ := in.ReadString('\n')
	line = strings.ToLower(strings.TrimSpace(line))
	return line == "" || line == "y" || line == "yes"
}

// Page shows what write writes through the user's pager ($PAGER, else
// less) when out is a terminal, and writes it to out otherwise (or when no
// pager can start). Control sequences are filtered as on out.
func Page(out io.Writer, write func(io.Writer)) error {
	f, ok := textsafe.FileOf(out)
	if !ok || !xterm.IsTerminal(int(f.Fd())) {
		write(out)
		return nil
	}
	pager := strings.Fields(os.Getenv("PAGER"))
	if len(pager) == 0 {
		pager = []string{"less"}
	}
	path, err := exec.LookPath(pager[0])
	if err != nil {
		write(out)
		return nil
	}
	cmd := exec.Command(path, pager[1:]...)
	cmd.Stdout, cmd.Stderr = f, os.Stderr
	if os.Getenv("LESS") == "" {
		// Quit when it fits on one screen; colours as they are.
		cmd.Env = append(os.Environ(), "LESS=FRX")
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		write(out)
		return nil
	}
	write(textsafe.NewWriter(in))
	in.Close()
	return cmd.Wait()
}

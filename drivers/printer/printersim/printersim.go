// Package printersim is a simulated 58 mm ESC/POS thermal receipt printer of
// the kind sold in China: it reads the byte stream of the Epson "ESC/POS
// Command Reference" with package escpos's Decoder, starting in Chinese
// character mode (GB 18030) as those printers power on, keeps the paper it
// printed, and answers the real-time status requests DLE EOT n with the
// status bytes of the reference — over any byte stream; in posfw sim, the
// controller end of a pseudo-terminal.
//
// Faults are set while it serves: paper out or cover open make the status
// say so and the printer drop what it is sent, as a real one stops
// printing; stray bytes can be sent ahead of each reply, as a noisy line
// would. A line rate can be set, so that throughput is measured as on a
// serial cable rather than at the speed of a PTY.
package printersim

import (
	"io"
	"sync"
	"time"

	"posfw/drivers/printer/escpos"
)

// Sim is one simulated printer. Its methods are safe for concurrent use
// with Serve.
type Sim struct {
	mu      sync.Mutex
	dec     *escpos.Decoder
	printed []escpos.Line
	torn    int
	fault   escpos.Status // what went wrong: PaperOut, CoverOpen
	stray   []byte
	replies []byte // answers decoded but not yet sent
	rate    int    // line rate in bytes per second; 0: as fast as the stream
	rx, tx  time.Time
	count   int64
}

// Cols is the width of the simulated printer's paper in characters.
const Cols = escpos.Cols58mm

// New returns a printer just switched on, with paper and its cover shut.
func New() *Sim {
	s := &Sim{dec: escpos.NewDecoder(escpos.Options{Chinese: true})}
	s.dec.OnStatus = s.answer
	return s
}

// Serve prints what it reads from rw and writes the status replies back,
// until reading or writing fails (the PTY was closed). It may be called
// again, on a new stream, once it has returned.
func (s *Sim) Serve(rw io.ReadWriter) error {
	buf := make([]byte, 4096)
	for {
		n, err := rw.Read(buf[:s.readSize()])
		if n > 0 {
			s.pace(&s.rx, n)
			if out := s.receive(buf[:n]); len(out) > 0 {
				s.pace(&s.tx, len(out))
				if _, err := rw.Write(out); err != nil {
					return err
				}
			}
		}
		if err != nil {
			return err
		}
	}
}

// receive runs b through the decoder and returns the bytes to send back.
func (s *Sim) receive(b []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count += int64(len(b))
	s.dec.Write(b)
	// Take the new lines off the decoder: onto the paper if the printer
	// can print, else nowhere.
	if p := s.dec.Paper(); len(p.Lines) > 0 {
		if s.status().Ready() {
			s.printed = append(s.printed, p.Lines...)
			if over := len(s.printed) - escpos.DefaultMaxLines; over > 0 {
				s.printed = append(s.printed[:0], s.printed[over:]...)
				s.torn += over
			}
		}
		s.dec.Clear()
	}
	out := s.replies
	s.replies = nil
	return out
}

// answer is the decoder's OnStatus: DLE EOT n. It runs with mu held.
func (s *Sim) answer(n escpos.StatusKind) {
	b, err := s.status().Byte(n)
	if err != nil {
		return // n = 7, 8, 18: ink and other reports this printer lacks
	}
	s.replies = append(s.replies, s.stray...)
	s.replies = append(s.replies, b)
}

// status is what the printer reports. mu is held.
func (s *Sim) status() escpos.Status { return s.fault.Implied() }

// readSize is how much Serve reads at a time: about 2 ms of the line when
// paced, so that a reply leaves when the request has crossed the line.
func (s *Sim) readSize() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rate == 0 {
		return 4096
	}
	return min(max(s.rate/500, 1), 4096)
}

// idleGap is how far behind its clock the line may fall and still count
// as busy. A sleep overshoots by up to a scheduler tick; that lateness is
// made up on the next bytes, as a UART's clock does not slip. Only a longer
// gap means the sender really paused.
const idleGap = 5 * time.Millisecond

// pace sleeps until n more bytes have crossed the line whose next free
// moment is *free.
func (s *Sim) pace(free *time.Time, n int) {
	s.mu.Lock()
	rate := s.rate
	if rate == 0 {
		s.mu.Unlock()
		return
	}
	now := time.Now()
	if free.Add(idleGap).Before(now) {
		*free = now // the line was idle
	}
	*free = free.Add(time.Duration(n) * time.Second / time.Duration(rate))
	until := *free
	s.mu.Unlock()
	time.Sleep(time.Until(until))
}

// SetLineRate paces the printer's side of the line at bytesPerSecond in
// each direction (a baud rate ÷ 10 for 8N1); 0 turns pacing off.
func (s *Sim) SetLineRate(bytesPerSecond int) {
	s.mu.Lock()
	s.rate = max(bytesPerSecond, 0)
	s.mu.Unlock()
}

// SetPaperOut takes the paper out (true) or puts a new roll in (false).
func (s *Sim) SetPaperOut(out bool) {
	s.mu.Lock()
	s.fault.PaperOut = out
	s.mu.Unlock()
}

// SetCoverOpen opens (true) or shuts (false) the paper cover.
func (s *Sim) SetCoverOpen(open bool) {
	s.mu.Lock()
	s.fault.CoverOpen = open
	s.mu.Unlock()
}

// SetStray makes the printer send b ahead of every status reply; nil stops it.
func (s *Sim) SetStray(b []byte) {
	s.mu.Lock()
	s.stray = append([]byte(nil), b...)
	s.mu.Unlock()
}

// Status is what the printer answers to DLE EOT now.
func (s *Sim) Status() escpos.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status()
}

// Paper returns what was printed since the last Clear.
func (s *Sim) Paper() escpos.Paper {
	s.mu.Lock()
	defer s.mu.Unlock()
	return escpos.Paper{Lines: append([]escpos.Line(nil), s.printed...), Torn: s.torn}
}

// Text returns what was printed since the last Clear, laid out as it reads
// on 58 mm paper (Cols columns).
func (s *Sim) Text() string { return s.Paper().Text(Cols) }

// Clear tears the printed paper off.
func (s *Sim) Clear() {
	s.mu.Lock()
	s.printed, s.torn = nil, 0
	s.mu.Unlock()
}

// Received counts the bytes the printer has read since New, printed or not.
func (s *Sim) Received() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Err returns the first problem met in the stream (an unknown command, a
// command cut short...), or nil. The printer keeps printing regardless.
func (s *Sim) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dec.Err()
}

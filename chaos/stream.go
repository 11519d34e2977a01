package chaos

// Stream picks runnable[b mod len(runnable)] for each byte b in turn, then
// continues as Random seeded from the bytes. Every byte string is a valid
// stream, so fuzzers can mutate it freely.
func Stream(data []byte) Strategy {
	return &stream{data: data}
}

type stream struct {
	data     []byte
	step     int
	fallback Strategy
}

func (s *stream) Choose(runnable []int, cur int) int {
	if s.step < len(s.data) {
		b := s.data[s.step]
		s.step++
		return runnable[int(b)%len(runnable)]
	}
	if s.fallback == nil {
		ints := make([]int, len(s.data))
		for i, b := range s.data {
			ints[i] = int(b)
		}
		s.fallback = Random(SeedOf(ints))
	}
	return s.fallback.Choose(runnable, cur)
}

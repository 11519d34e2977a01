package chaos

// Waiting returns what thread id is blocked on, or nil when it is not
// blocked (or does not exist). Like Wait.Ready, it is for the running
// thread only: a strategy may call it from Choose.
func (c *Controller) Waiting(id int) Wait {
	if id < 0 || id >= len(c.threads) || c.threads[id] == nil || c.threads[id].done {
		return nil
	}
	return c.threads[id].wait
}

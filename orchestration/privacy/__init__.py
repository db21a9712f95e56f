"""Privacy: forgetting a person (`cdp forget`) and suppressing their future events."""

{{ cdp.audience(
    description='Big past purchasers worth winning back: repeat buyers (3+ orders of $100 or more, and at least one browse-then-buy within a week), at most one support ticket in 2025-2026, who are not already in the abandoned-checkout flow.',
    conditions={'all': [
        {'in_audience': 'big_past_purchasers'},
        {'not_in_audience': 'abandoned_checkout', 'description': 'the abandoned-checkout flow reaches them already'},
        {'performed': 'Order Completed', 'times': {'at_least': 3}, 'where': [{'property': 'revenue', 'op': '>=', 'value': 100}]},
        {'funnel': ['Product Viewed', 'Order Completed'], 'within_days': 7, 'description': 'browsed then bought'},
        {'performed': 'Support Ticket Opened', 'times': {'at_most': 1}, 'between': ['2025-01-01', '2026-12-31']},
    ]},
    payload=['lifetime_value', 'order_count'],
) }}

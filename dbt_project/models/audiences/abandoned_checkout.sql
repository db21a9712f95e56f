{{ cdp.audience(
    description='Started a checkout in the last 7 days, placed no order within 24 hours of it, and can be reached by email.',
    conditions={'all': [
        {'funnel': ['Checkout Started', 'Order Completed'], 'completed': false, 'within_hours': 24, 'window_days': 7,
         'description': 'abandoned a checkout'},
        {'reachable': 'email'},
    ]},
    payload=['lifetime_value', 'order_count'],
) }}

{{ cdp.audience(
    description='Customers with large past purchases (an order of $500 or more, or $2,000 in total) who have not been seen on the website for 60 days.',
    conditions={'all': [
        {'any': [
            {'aggregate': 'max', 'event': 'Order Completed', 'property': 'revenue', 'op': '>=', 'value': 500,
             'description': 'a large order'},
            {'trait': 'lifetime_value', 'op': '>=', 'value': 2000, 'description': 'large total purchases'},
        ]},
        {'did_not_perform': 'Page Viewed', 'window_days': 60, 'description': 'not seen on the website for 60 days'},
    ]},
    payload=['lifetime_value', 'largest_order_value', 'last_seen_at'],
) }}

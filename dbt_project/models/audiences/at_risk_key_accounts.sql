{{ cdp.audience(
    description='People whose account contacted support more than 3 times in the last month and spends more than $1M a year.',
    conditions={'account': [
        {'trait': 'support_tickets_30d', 'op': '>', 'value': 3},
        {'trait': 'spend_365d', 'op': '>', 'value': 1000000},
    ], 'description': 'a key account at risk'},
    payload=['lifetime_value', 'support_tickets_30d'],
) }}

{#- Purchase shares (brand_share_*, a SQL trait) stand in for predicted brand affinities until
    profile_predictions exists; then these conditions read those scores instead. -#}
{{ cdp.audience(
    description='Brand-affinity targets: a strong affinity for one of our three named brands (Northwind, Bluepeak, Copperline), or a high affinity for both similar new brands (Nimbus, Oakhurst).',
    conditions={'any': [
        {'trait': 'brand_share_northwind', 'op': '>=', 'value': 0.5},
        {'trait': 'brand_share_bluepeak', 'op': '>=', 'value': 0.5},
        {'trait': 'brand_share_copperline', 'op': '>=', 'value': 0.5},
        {'all': [
            {'trait': 'brand_share_nimbus', 'op': '>=', 'value': 0.3},
            {'trait': 'brand_share_oakhurst', 'op': '>=', 'value': 0.3},
        ], 'description': 'two similar new brands'},
    ]},
    payload=['favorite_brand', 'brand_share_northwind', 'brand_share_bluepeak', 'brand_share_copperline',
             'brand_share_nimbus', 'brand_share_oakhurst'],
) }}

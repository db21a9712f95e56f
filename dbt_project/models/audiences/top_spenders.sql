{#- A hand-written audience: any query returning profile_id; its other columns become the payload. -#}
{{ cdp.audience(
    description='The 100 profiles with the highest lifetime value (hand-written SQL).',
    query="
        select profile_id, lifetime_value, favorite_brand
        from {{ ref('profile_traits') }}
        where lifetime_value > 0
        qualify row_number() over (order by lifetime_value desc, profile_id) <= 100
    ",
) }}
